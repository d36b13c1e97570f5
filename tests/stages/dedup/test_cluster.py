"""The reduce's decisions on crafted stores: what a band collision may and may not remove."""

import numpy as np

from corpuskit.stages.dedup.cluster import Corpus, decide
from corpuskit.stages.dedup.store import Store, StoreWriter

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
    d = decide(corpus, bands=8, threshold=0.7)
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
    d = decide(corpus, bands=8, threshold=0.8)
    assert d.removed.tolist() == [1, 2] and d.keeper.tolist() == [0, 0]
    assert d.report["chained_removals"] == 1  # d2 is removed through d1, visibly
    assert d.report["rejected_pairs"] == 1  # the pair (d0, d2) that shares a bucket
