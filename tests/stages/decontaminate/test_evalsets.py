"""Every eval-set format is read into items, and a bad eval set is an error naming it."""

import gzip
import json
import shutil
from pathlib import Path

import pytest

from corpuskit.stages.decontaminate.evalsets import EvalSetError, parse_entry, read_eval_sets

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "decontaminate"


def one(entries, fields=None):
    (es,) = read_eval_sets(entries, fields)
    return es


def test_llm_foundry_schemas_read_as_the_task_shows_them():
    mc = one([str(FIXTURES / "mc.jsonl")])
    assert mc.name == "mc" and len(mc.items) == 3
    # the query, its gold choice, then the other choices
    assert mc.items[1] == ("Question: Which tool would a student use to measure the mass of a small river stone "
                           "during a science lesson?", "a balance", "a ruler", "a thermometer", "a stopwatch")
    lm = one([str(FIXTURES / "lm.jsonl")])
    assert lm.items[1][1] == "gate" and lm.items[1][0].startswith("Marguerite folded")
    schema = one([str(FIXTURES / "schema.jsonl")])
    assert schema.items[0] == ("The violin would not fit into the narrow locker because the violin",
                               "was too wide for the opening.",
                               "The violin would not fit into the narrow locker because the locker")


def test_json_text_gzip_parquet_and_saved_dataset(tmp_path):
    qa = one([str(FIXTURES / "qa.json")])
    assert qa.items[0][1] == "Tomas has 4 * 12 - 9 = 39 apples left."
    text = one([str(FIXTURES / "plain.txt")])
    assert len(text.items) == 2 and text.items[1][0].startswith("Name three reasons")

    gz = tmp_path / "mc.jsonl.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "mc.jsonl").read_bytes()))
    assert one([str(gz)]).items == one([str(FIXTURES / "mc.jsonl")]).items

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (FIXTURES / "mc.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mc.parquet")
    assert one([str(tmp_path / "mc.parquet")]).items == one([str(FIXTURES / "mc.jsonl")]).items

    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "mc_saved"))
    saved = one([str(tmp_path / "mc_saved")])
    assert saved.name == "mc_saved" and saved.items == one([str(FIXTURES / "mc.jsonl")]).items


def test_folder_names_and_fields(tmp_path):
    sets = read_eval_sets([str(FIXTURES)])
    assert [s.name for s in sets] == ["lm", "mc", "plain", "qa", "schema"]  # README.md is not an eval file
    named = one([f"arc={FIXTURES / 'mc.jsonl'}"])
    assert named.name == "arc" and named.files[0][1] == __import__("hashlib").sha256(
        (FIXTURES / "mc.jsonl").read_bytes()).hexdigest()
    questions = one([str(FIXTURES / "qa.json")], ["question"])
    assert questions.items == (("Tomas buys four crates of apples with twelve apples in each crate and gives away "
                                "nine apples to his neighbours. How many apples does Tomas have left?",),)
    assert parse_entry("gsm8k=/data/test.jsonl") == ("gsm8k", "/data/test.jsonl")
    odd = tmp_path / "a=b.txt"  # an existing path with = in it is a path
    shutil.copy(FIXTURES / "plain.txt", odd)
    assert parse_entry(str(odd)) == (None, str(odd))


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.jsonl", "nope.jsonl: no such file or folder"),
    (lambda d: (d / "bad.jsonl").write_text('{"query": "fine"}\n{not json\n') and d / "bad.jsonl",
     "bad.jsonl line 2: not JSON"),
    (lambda d: (d / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"a": "b c d e f"}\n' * 50)[:40])
     and d / "cut.jsonl.gz",
     "cut.jsonl.gz: cannot read it"),
    (lambda d: (d / "empty.jsonl").write_text("\n") and d / "empty.jsonl", "empty.jsonl: no text"),
    (lambda d: (d / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1")) and d / "latin1.txt",
     "latin1.txt: cannot read it"),
    (lambda d: (d / "nofiles").mkdir() or d / "nofiles", "nofiles: a folder with no eval file"),
])
def test_a_bad_eval_set_is_an_error_naming_it(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(EvalSetError) as err:
        read_eval_sets([str(path)])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_two_benchmarks_with_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(FIXTURES / "mc.jsonl", tmp_path / "a" / "mc.jsonl")
    with pytest.raises(EvalSetError, match="second benchmark named 'mc'"):
        read_eval_sets([str(FIXTURES / "mc.jsonl"), str(tmp_path / "a")])
    with pytest.raises(EvalSetError, match="no string in the fields missing"):
        read_eval_sets([str(FIXTURES / "mc.jsonl")], ["missing"])
