import json

import numpy as np
import pytest

from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.store import _id_of


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32])
def test_sorted_unique_is_numpy_unique(dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    for a in (rng.integers(0, 50, 1_000), rng.integers(info.min // 2, info.max // 2, 5_000, dtype=np.int64),
              np.zeros(0, np.int64), np.array([7]), np.full(9, 4), np.arange(10)[::-1]):
        a = a.astype(dtype)
        got = sorted_unique(a)
        assert got.dtype == a.dtype
        assert np.array_equal(got, np.unique(a))
    assert np.array_equal(sorted_unique(np.array([[3, 1], [3, 2]])), [1, 2, 3])  # flattened, as np.unique


def test_an_id_line_reads_as_json_whatever_it_holds():
    for i in ["d0", "", "a b", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "é€😀",
              "\u2028", "x" * 300]:
        for ascii_only in (True, False):
            line = json.dumps(i, ensure_ascii=ascii_only).encode("utf-8")
            assert _id_of(line) == json.loads(line) == i
