import random

import numpy as np

from corpuskit.stages.dedup.unionfind import components
from helpers.dedup import reference_components


def test_components_match_reference_and_use_smallest_label():
    rng = random.Random(0)
    for trial in range(30):
        n = rng.randint(1, 300)
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
        u = np.array([e[0] for e in edges], dtype=np.int64)
        v = np.array([e[1] for e in edges], dtype=np.int64)
        labels = components(n, u, v)
        ref = reference_components(n, edges)
        assert labels.tolist() == ref
        assert all(labels[x] <= x for x in range(n))


def test_long_chain_is_one_component():
    n = 5000
    order = np.random.default_rng(1).permutation(n)
    labels = components(n, order[:-1], order[1:])
    assert (labels == 0).all()
