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


def _chunked(n, u, v, rng, masked=True):
    """Labels from edges fed to `union` in random-sized chunks, as they are streamed from disk
    (with the mask of touched nodes that the reduce keeps, or jumping every node)."""
    labels, touched = labels_array(n), np.zeros(n, dtype=bool) if masked else None
    lo = 0
    while lo < len(u):
        hi = lo + rng.randint(1, max(1, len(u) // 3))
        union(labels, u[lo:hi], v[lo:hi], touched)
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
        assert _chunked(n, u, v, rng, masked=False).tolist() == reference_components(n, e)
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


def test_a_column_read_whole_gives_the_pairs_of_the_slices(tmp_path, monkeypatch):
    # Every document banded: each store's band file is read straight into the column, numbers
    # are positions. The same pairs as the slices that leave out documents without words.
    corpus = _clustered_stores(tmp_path)
    assert spill._all_banded(corpus)

    def pairs(band):
        task = spill.BandTask(tuple(str(s.path) for s in corpus.stores), 0, band, str(tmp_path))
        ((h, g),) = spill._partitions(corpus, task, tmp_path)
        return g, spill.bucket_pairs(h, g, corpus.n, 0)

    whole = [pairs(k) for k in range(8)]
    assert all(g is None for g, _ in whole) and sum(len(p) for _, p in whole) > 1000
    monkeypatch.setattr(spill, "_all_banded", lambda corpus: False)
    sliced = [pairs(k) for k in range(8)]
    assert all(g is not None for g, _ in sliced)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(whole, sliced))
    # a store with a document without words is read by slices, that document left out
    rng = np.random.default_rng(3)
    sigs = rng.integers(0, 2**32, (4, 16), dtype=np.uint32)
    sigs[1] = sigs[3] = sigs[0]
    w = StoreWriter(tmp_path / "nw", 8, 16, False, PARAMS)
    band = np.stack([sigs[:, 2 * k].astype(np.uint64) * 2**32 + sigs[:, 2 * k + 1] for k in range(8)], 1)
    w.add([f"d{i}" for i in range(4)], band, sigs, np.array([100, 0, 100, 100]), np.full(4, 500))
    w.commit()
    mixed = Corpus([Store(tmp_path / "nw")])
    monkeypatch.undo()
    assert not spill._all_banded(mixed)
    task = spill.BandTask((str(tmp_path / "nw"),), 0, 0, str(tmp_path))
    ((h, g),) = spill._partitions(mixed, task, tmp_path)
    assert g.tolist() == [0, 2, 3] and spill.bucket_pairs(h, g, 4, 0).tolist() == [3 * 4 + 0]


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
def test_shared_buckets_are_the_stable_argsort_of_the_shared_hashes(seed):
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
    values, counts = np.unique(h, return_counts=True)
    shared = np.isin(h[stable], values[counts > 1])  # the documents of buckets with pairs, in stable order

    def expect(starts, gs, numbers):
        # every shared hash's documents come out in stable order, each bucket starting once; the
        # rest (alone in their bucket, returned only when a neighbour shares their high bits) start
        # a bucket of their own
        keep = np.isin(gs, numbers[stable][shared])
        assert np.array_equal(gs[keep], numbers[stable][shared])
        hs = h[np.argsort(numbers)][np.searchsorted(np.sort(numbers), gs)]
        assert np.array_equal(starts, np.concatenate([[True], hs[1:] != hs[:-1]])[:len(gs)])
        assert starts[~keep].all()

    expect(*spill.shared_buckets(h, g), g)
    expect(*spill.shared_buckets(h, None), np.arange(len(h)))  # None: the numbers are the positions
    distinct = np.arange(5, dtype=np.uint64)[::-1] << np.uint64(60)  # no shared hash, nor high bits
    starts, gs = spill.shared_buckets(distinct, None)
    assert len(starts) == len(gs) == 0
    starts, gs = spill.shared_buckets(distinct >> np.uint64(60), None)  # high bits shared by chance:
    assert starts.all() and gs.tolist() == [4, 3, 2, 1, 0]  # returned, each a bucket of its own
    starts, gs = spill.shared_buckets(np.zeros(0, np.uint64), None)
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


def test_ids_are_read_by_number_across_blocks_and_stores(tmp_path, monkeypatch):
    import corpuskit.stages.dedup.store as store_module

    # ids with characters JSON escapes (a newline, a quote) or keeps (accents, emoji), of many lengths
    names = [f"doc-{i}" + "\n\"é😀x" * (i % 7) for i in range(500)]
    stores = []
    for k, part in enumerate((names[:200], names[200:])):
        w = StoreWriter(tmp_path / f"s{k}", 1, 2, False, PARAMS)
        n = len(part)
        w.add(part, np.zeros((n, 1), np.uint64), np.zeros((n, 2), np.uint32), np.full(n, 5), np.full(n, 9))
        w.commit()
        stores.append(Store(tmp_path / f"s{k}"))
    corpus = Corpus(stores)
    monkeypatch.setattr(store_module, "_ID_BLOCK", 37)  # lines cut across many blocks
    asked = [499, 0, 199, 200, 3, 3, 250, 499, 17]  # any order, repeats, both stores, first and last rows
    assert corpus.ids(np.array(asked)) == [names[i] for i in asked]
    assert corpus.ids(np.arange(500)) == names
    with pytest.raises(ValueError, match="s0/ids.txt: 200 lines, row 200 asked for"):
        list(store_module.ids_at(tmp_path / "s0", np.array([5, 200])))


def test_signatures_mapped_for_scattered_rows_are_the_signatures(tmp_path):
    corpus = _clustered_stores(tmp_path, n_docs=300)
    for store in corpus.stores:
        assert np.array_equal(store.sig_rows(), store.sig())
    rows = np.array([299, 3, 150, 3])
    assert np.array_equal(corpus.gather(Store.sig_rows, rows), corpus.gather(Store.sig, rows))
