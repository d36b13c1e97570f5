import random

import numpy as np

from corpuskit.stages.dedup.unionfind import components


def _reference(n, edges):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(x) for x in range(n)]


def test_components_match_reference_and_use_smallest_label():
    rng = random.Random(0)
    for trial in range(30):
        n = rng.randint(1, 300)
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
        u = np.array([e[0] for e in edges], dtype=np.int64)
        v = np.array([e[1] for e in edges], dtype=np.int64)
        labels = components(n, u, v)
        ref = _reference(n, edges)
        assert labels.tolist() == ref
        assert all(labels[x] <= x for x in range(n))


def test_long_chain_is_one_component():
    n = 5000
    order = np.random.default_rng(1).permutation(n)
    labels = components(n, order[:-1], order[1:])
    assert (labels == 0).all()
