import hashlib
import subprocess
import sys

import pytest

from corpuskit.tokenize.split import SplitConfig, split_point


def test_split_point_follows_the_documented_rule():
    for doc_id in ["a", "doc-0001", "книга.txt#3", ""]:
        digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
        assert split_point(doc_id) == int.from_bytes(digest, "big") / 2**64


def test_fractions_are_respected():
    cfg = SplitConfig(validation=0.1, test=0.05)
    ids = [f"file.txt#{i}" for i in range(20000)]
    counts = {s: 0 for s in cfg.splits}
    for i in ids:
        counts[cfg.assign(i)] += 1
    assert abs(counts["validation"] / 20000 - 0.1) < 0.01
    assert abs(counts["test"] / 20000 - 0.05) < 0.01
    assert SplitConfig().splits == ("train", "validation")
    assert SplitConfig(test=0.1).splits == ("train", "validation", "test")


def test_assignment_does_not_depend_on_python_hash_seed():
    ids = [f"d{i}" for i in range(200)]
    here = [SplitConfig(validation=0.3).assign(i) for i in ids]
    code = ("from corpuskit.tokenize.split import SplitConfig;"
            f"print(','.join(SplitConfig(validation=0.3).assign(i) for i in {ids!r}))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip().split(",")
    assert here == other
    assert {"train", "validation"} == set(here)


@pytest.mark.parametrize("kwargs", [{"validation": -0.1}, {"validation": 1.0}, {"validation": 0.6, "test": 0.4},
                                    {"test": "0.1"}])
def test_invalid_fractions_are_refused(kwargs):
    with pytest.raises(ValueError):
        SplitConfig(**kwargs)
