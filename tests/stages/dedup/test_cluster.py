"""The reduce's decisions: what a band collision may and may not remove, and the reduce out of
core (chunked union-find, spilled buckets and pair ranges, their cleanup and reuse, the memory
limit)."""

import random

import numpy as np
import pytest

from corpuskit.errors import ConfigError
from corpuskit.stages.dedup import spill
from corpuskit.stages.dedup.cluster import Corpus, decide, remove_spill
from corpuskit.stages.dedup.store import Store, StoreWriter
from corpuskit.stages.dedup.unionfind import labels_array, union
from helpers.dedup import edit, prose, reference_components, rejected, run_stages, write_jsonl

PARAMS = {"test": True}


def _store(path, sigs, bands, rows):
    """A store holding documents with the given signatures; band hashes are the signature's
    band slices themselves, so equal slices share a bucket."""
    sigs = np.asarray(sigs, dtype=np.uint32)
    n = len(sigs)
    band = np.stack([sigs[:, k * rows].astype(np.uint64) * 2**32 + sigs[:, k * rows + 1] for k in range(bands)], 1)
    w = StoreWriter(path, bands, sigs.shape[1], False, PARAMS)
    w.add([f"d{i}" for i in range(n)], band, sigs, np.full(n, 100), np.full(n, 500))
    w.commit()
    return Store(path)


def test_band_collision_below_threshold_removes_nothing(tmp_path):
    # d0 and d1 share band 0 (2 rows) and nothing else: estimated Jaccard 2/16 = 0.125
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, 16, dtype=np.uint32)
    b = rng.integers(0, 2**32, 16, dtype=np.uint32)
    b[:2] = a[:2]
    corpus = Corpus([_store(tmp_path / "s", [a, b], bands=8, rows=2)])
    d = decide(corpus, bands=8, threshold=0.7, workdir=tmp_path)
    assert d.removed.tolist() == []
    assert d.report["candidate_pairs"] == 1 and d.report["rejected_pairs"] == 1
    assert d.report["verified_pairs"] == 0 and d.report["verification"] == "estimated"


def test_similar_pair_still_removed_and_chaining_counted(tmp_path):
    # d1 ~ d0 (14 of 16 equal), d2 ~ d1 (14 of 16) but d2 ~ d0 only 12 of 16 = 0.75 < 0.8
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2**32, 16, dtype=np.uint32)
    b, c = a.copy(), a.copy()
    b[14:] += 1
    c[14:] += 1
    c[12:14] += 1
    corpus = Corpus([_store(tmp_path / "s", [a, b, c], bands=8, rows=2)])
    d = decide(corpus, bands=8, threshold=0.8, workdir=tmp_path)
    assert d.removed.tolist() == [1, 2] and d.keeper.tolist() == [0, 0]
    assert d.report["chained_removals"] == 1  # d2 is removed through d1, visibly
    assert d.report["rejected_pairs"] == 1  # the pair (d0, d2) that shares a bucket


def _chunked(n, u, v, rng):
    """Labels from edges fed to `union` in random-sized chunks, as they are streamed from disk."""
    labels = labels_array(n)
    lo = 0
    while lo < len(u):
        hi = lo + rng.randint(1, max(1, len(u) // 3))
        union(labels, u[lo:hi], v[lo:hi])
        lo = hi
    return labels


def test_chunked_union_find_matches_reference_on_random_graphs_chain_and_star():
    rng = random.Random(0)
    graphs = []
    for _ in range(30):
        n = rng.randint(1, 400)
        graphs.append((n, [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, 2 * n))]))
    n = 20_000  # a long chain in random order, and a star of n nodes (scaled down from millions)
    order = np.random.default_rng(1).permutation(n).tolist()
    graphs.append((n, list(zip(order[:-1], order[1:]))))
    center = 12_345
    leaves = [x for x in np.random.default_rng(2).permutation(n).tolist() if x != center]
    graphs.append((n, [(x, center) if i % 2 else (center, x) for i, x in enumerate(leaves)]))
    for n, e in graphs:
        u = np.array([a for a, _ in e], dtype=np.int64)
        v = np.array([b for _, b in e], dtype=np.int64)
        assert _chunked(n, u, v, rng).tolist() == reference_components(n, e)
    assert (_chunked(n, u, v, rng) == 0).all()  # the star and the chain are one component each


def _clustered_stores(tmp_path, n_docs=3000, seed=0):
    """Stores of random signatures with planted clusters, some sharing a band with a stranger."""
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, (n_docs, 16), dtype=np.uint32)
    for _ in range(300):
        members = rng.choice(n_docs, rng.integers(2, 12), replace=False)
        src = members.min()
        for m in members:
            if m != src:
                sigs[m] = sigs[src]
                sigs[m, rng.choice(16, rng.integers(0, 5), replace=False)] += 1
    for _ in range(50):  # strangers sharing one band (2 of 16 values) with another document
        a, b = rng.choice(n_docs, 2, replace=False)
        sigs[b, :2] = sigs[a, :2]
    half = n_docs // 2
    return Corpus([_store(tmp_path / "s0", sigs[:half], 8, 2), _store(tmp_path / "s1", sigs[half:], 8, 2)])


def _decisions(d):
    return d.removed.tolist(), d.keeper.tolist(), d.similarity.tolist(), {
        k: v for k, v in d.report.items() if k != "spill"}


@pytest.mark.parametrize("keep", ["first", "longest"])
def test_spilled_partitions_and_ranges_decide_as_in_memory(tmp_path, monkeypatch, keep):
    corpus = _clustered_stores(tmp_path)
    whole = decide(corpus, 8, 0.7, keep=keep, workdir=tmp_path / "a")
    assert whole.report["spill"] == {"spill_partitions": 1, "spill_ranges": 1}
    assert whole.report["rejected_pairs"] >= 40 and whole.report["removed"] > 500
    monkeypatch.setattr(spill, "_PER_RECORD", 2_000_000)  # as if each document took 2 MB: spill
    monkeypatch.setattr(spill, "_PER_PAIR", 200_000)
    spilled = decide(corpus, 8, 0.7, keep=keep, workdir=tmp_path / "b")
    assert spilled.report["spill"]["spill_partitions"] > 3 and spilled.report["spill"]["spill_ranges"] > 3
    assert _decisions(spilled) == _decisions(whole)


def test_spill_files_reused_on_resume_and_removed_on_success(tmp_path, monkeypatch):
    corpus = _clustered_stores(tmp_path)
    expected = _decisions(decide(corpus, 8, 0.7, workdir=tmp_path / "ref"))

    def crash_at_ranges(fn, tasks):
        if fn is spill.run_range:
            fn(tasks[0])
            raise KeyboardInterrupt  # killed after every band and one range
        return map(fn, tasks)

    work = tmp_path / "w"
    with pytest.raises(KeyboardInterrupt):
        decide(corpus, 8, 0.7, workdir=work, run_map=crash_at_ranges)
    (folder,) = work.glob("spill-*")
    assert len(list(folder.glob("band-*"))) == 8 and len(list(folder.glob("range-*.json"))) == 1

    def no_bucketing(*a):
        raise AssertionError("a band done before the crash was done again")

    monkeypatch.setattr(spill, "bucket_pairs", no_bucketing)
    again = decide(corpus, 8, 0.7, workdir=work)
    assert _decisions(again) == expected and again.spill == folder
    remove_spill(again)
    assert list(work.iterdir()) == []


def test_a_run_leaves_no_spill_files(tmp_path):
    write_jsonl(tmp_path / "in" / "x.jsonl", [("a", prose(1)), ("b", edit(prose(1), 2, seed=1)), ("c", prose(2))])
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": {"memory": "1GB"}}])
    assert set(rejected(tmp_path / "out")) == {"b"}
    work = tmp_path / "out" / "_work" / "stages" / "minhash_dedup"
    assert work.is_dir() and list(work.glob("spill-*")) == []


def test_memory_limit_too_small_is_refused(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "in" / "x.jsonl", [("a", prose(1)), ("b", edit(prose(1), 2, seed=1))])
    with pytest.raises(ConfigError, match="memory"):  # below any plan: at load, before any work
        run_stages(tmp_path / "in", tmp_path / "o1", [{"minhash_dedup": {"memory": "200MB"}}])
    assert not (tmp_path / "o1").exists()
    with pytest.raises(ConfigError, match="memory must be a size"):
        run_stages(tmp_path / "in", tmp_path / "o2", [{"minhash_dedup": {"memory": "lots"}}])
    with pytest.raises(spill.MemoryLimitError, match=r"1024 MB is too small to de-duplicate 1,000,000,000 documents"):
        spill.plan(10**9, 14, spill.parse_memory("1GB"))
    # a corpus the clustering cannot hold: refused at the start of the reduce, before any band task
    monkeypatch.setattr(spill, "DRIVER_BYTES_PER_DOC", 10**9)
    with pytest.raises(spill.MemoryLimitError, match="raise memory"):
        run_stages(tmp_path / "in", tmp_path / "o3", [{"minhash_dedup": {"memory": "1GB"}}])
    assert list((tmp_path / "o3" / "_work" / "stages" / "minhash_dedup").glob("spill-*")) == []


def test_plan_fits_the_limit():
    for n in (10**6, 10**7, 10**8):
        for limit in ("1GB", "4GB", "8GB"):
            try:
                p = spill.plan(n, 14, spill.parse_memory(limit))
            except spill.MemoryLimitError:
                assert n * spill.DRIVER_BYTES_PER_DOC > spill.parse_memory(limit) - spill.BASE - 64 * spill.MB
                continue
            free = spill.parse_memory(limit) - spill.BASE
            assert -(-n // p.partitions) * spill._PER_RECORD <= free
            assert -(-n // p.ranges) * 2 * 14 * spill._PER_PAIR <= free - spill._SIM_RESERVE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sort_by_hash_is_the_stable_argsort(seed):
    rng = np.random.default_rng(seed)
    # many shared hashes (clusters, a template bucket of 5,000) among unique ones, and hashes that
    # share their high bits but not their low ones (the packed sort must still keep them apart)
    h = np.concatenate([rng.integers(0, 2**64, 20_000, dtype=np.uint64),
                        rng.integers(0, 300, 20_000).astype(np.uint64) << np.uint64(40),
                        np.full(5_000, 7, np.uint64),
                        (np.uint64(5) << np.uint64(50)) + rng.integers(0, 1 << 16, 3_000).astype(np.uint64)])
    h = h[rng.permutation(len(h))]
    g = rng.permutation(len(h)).astype(np.int64)  # numbers in no order
    stable = np.argsort(h, kind="stable")
    hs = h[stable]
    starts, gs = spill.sort_by_hash(h, g)
    assert np.array_equal(gs, g[stable])
    assert np.array_equal(starts, np.concatenate([[True], hs[1:] != hs[:-1]]))
    consecutive = np.arange(10, 10 + len(h))  # every document has words: numbers from positions
    assert np.array_equal(spill.sort_by_hash(h, consecutive)[1], consecutive[stable])
    mixed = consecutive.copy()
    mixed[1:-1] = rng.permutation(mixed[1:-1])  # the same ends, not in order
    assert np.array_equal(spill.sort_by_hash(h, mixed)[1], mixed[stable])
    starts, gs = spill.sort_by_hash(np.arange(5, dtype=np.uint64)[::-1], np.arange(5))  # no shared hash
    assert starts.all() and gs.tolist() == [4, 3, 2, 1, 0]
    starts, gs = spill.sort_by_hash(np.zeros(0, np.uint64), np.zeros(0, np.int64))
    assert len(starts) == len(gs) == 0


def test_gather_reads_each_number_from_its_store_in_any_order():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    sizes = [5, 0, 40, 1, 300]  # an empty store among them
    cols = [rng.integers(0, 1000, (k, 3)) for k in sizes]
    corpus = Corpus([SimpleNamespace(n_docs=k, col=c) for k, c in zip(sizes, cols)])
    everything = np.concatenate(cols)
    for g in (rng.integers(0, corpus.n, 2_000), np.array([345, 0, 345, 44, 45]), np.arange(corpus.n)[::-1]):
        assert np.array_equal(corpus.gather(lambda s: s.col, g), everything[g])
