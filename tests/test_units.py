"""Units inside files: a large JSON Lines or Parquet file or saved dataset is cut into units
that give exactly the documents (ids, sources, rejects) of a whole-file read, and a run over
them gives the same bytes for any number of workers."""

import codecs
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.document import Document
from corpuskit.pipeline import PipelineError, parse_pipeline
from corpuskit.readers import ReaderConfig, list_sources, plan_units, read_source
from corpuskit.runner import run_pipeline


def _words(i: int) -> str:
    return f"document number {i} tells of the river and the mill and the children on its banks " * (1 + i % 3)


def _jsonl(path, n=120, blank_every=7, bom=True):
    """Records with blank and whitespace-only lines, a malformed line and one without an id."""
    lines = []
    for i in range(n):
        if i % blank_every == 3:
            lines.append(" \t" if i % 2 else "")
        if i == 50:
            lines.append("{broken")
        rec = {"text": _words(i)} if i == 60 else {"id": f"r{i}", "text": _words(i)}
        lines.append(json.dumps(rec))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(codecs.BOM_UTF8 + data if bom else data)
    return path


def _read_all(units) -> tuple[list[tuple], list[tuple]]:
    docs, rejects = [], []

    def reject(doc: Document, reason: str, stage: str, **detail) -> None:
        rejects.append((doc.id, doc.source, reason, detail.get("detail")))

    for src in units:
        docs += [(d.id, d.source, d.text, json.dumps(d.metadata)) for d in read_source(src, ReaderConfig(), reject)]
    return docs, rejects


@pytest.mark.parametrize("scan", [16 << 20, 1000, 333], ids=["one-block", "blocks", "blocks-shorter-than-lines"])
def test_jsonl_units_give_the_documents_of_a_whole_file_read(tmp_path, monkeypatch, scan):
    monkeypatch.setattr("corpuskit.readers.units._SCAN", scan)
    path = _jsonl(tmp_path / "big.jsonl")
    whole = list_sources(path)
    units = plan_units(whole, 4096)
    assert len(units) > 3 and [u.chunk for u in units] == list(range(len(units)))
    assert units[0].start == 0 and units[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(units, units[1:]))
    data = path.read_bytes()
    assert all(data[u.start - 1: u.start] == b"\n" for u in units[1:])  # cut after a newline
    assert _read_all(units) == _read_all(plan_units(whole, 1 << 30))
    docs, rejects = _read_all(units)
    line = data.split(b"\n").index(json.dumps({"text": _words(60)}).encode()) + 1
    pos = sum(1 for raw in data.removeprefix(codecs.BOM_UTF8).split(b"\n")[: line - 1] if raw.strip())
    assert (f"big.jsonl#{pos}", f"big.jsonl:{line}") in [(d[0], d[1]) for d in docs]  # derived id and line number
    assert [r[2] for r in rejects] == ["malformed_json"]


def test_small_compressed_csv_and_text_files_stay_one_unit(tmp_path):
    big = _jsonl(tmp_path / "a.jsonl")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(big.read_bytes()))
    (tmp_path / "c.txt").write_text(_words(1) * 200)
    (tmp_path / "d.csv").write_text("text\n" + "\n".join(_words(i) for i in range(200)))
    (tmp_path / "e.jsonl").write_text('{"text": "small"}\n')
    units = plan_units(list_sources(tmp_path), 4096)
    assert [u.name for u in units if u.file != 0] == ["00001", "00002", "00003", "00004"]
    assert {u.file for u in units if u.chunk is not None} == {0}
    assert units[0].name == "00000-00000"


def test_utf16_jsonl_is_not_cut(tmp_path):
    path = tmp_path / "wide.jsonl"
    path.write_bytes(("\n".join(json.dumps({"text": _words(i)}) for i in range(200)) + "\n").encode("utf-16"))
    assert [u.chunk for u in plan_units(list_sources(path), 4096)] == [None]


def test_parquet_units_are_row_groups(tmp_path):
    path = tmp_path / "t.parquet"
    rows = [{"id": f"p{i}" if i % 9 else None, "text": _words(i)} for i in range(300)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=40)
    units = plan_units(list_sources(path), 8192)
    assert len(units) > 2 and units[-1].end == pq.ParquetFile(path).metadata.num_row_groups
    assert _read_all(units) == _read_all(list_sources(path))


def test_saved_dataset_units_are_row_ranges(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"text": [_words(i) for i in range(400)]}
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows),
                               "test": datasets.Dataset.from_dict({"text": rows["text"][:50]})})
    dd.save_to_disk(str(tmp_path / "ds"))
    units = plan_units(list_sources(tmp_path / "ds"), 8192)
    assert len(units) > 2
    assert _read_all(units) == _read_all(list_sources(tmp_path / "ds"))


STAGES = [{"normalize": {}}, {"length_filter": {"min_words": 3}}, {"exact_dedup": {}}, {"minhash_dedup": {}}]


def _outputs(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_work" not in p.parts and "logs" not in p.parts  # logs/: times
            and p.name not in ("stats.json", "config.json", "README.md")}


def test_a_run_over_units_is_byte_identical_for_1_and_2_workers_and_keeps_ids(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    _jsonl(inp / "big.jsonl", n=300)
    (inp / "small.jsonl").write_text('{"text": "a small file with a few words"}\n')
    runs = {}
    for name, workers, unit_bytes in [("w1", 1, 4096), ("w2", 2, 4096), ("whole", 1, 1 << 30)]:
        cfg = parse_pipeline({"input": str(inp), "output": str(tmp_path / name), "stages": STAGES,
                              "unit_bytes": unit_bytes})
        run_pipeline(cfg, workers=workers, quiet=True)
        runs[name] = _outputs(tmp_path / name)
    assert runs["w1"] == runs["w2"]
    parts = [k for k in runs["w1"] if k.startswith("part-")]
    assert parts[0] == "part-00000-00000.parquet" and parts[-1] == "part-00001.parquet" and len(parts) > 4

    def ids(files):
        parts = [pq.read_table(pa.BufferReader(v)) for k, v in files.items() if k.startswith("part-")]
        return [i for t in parts for i in t["id"].to_pylist()]

    assert ids(runs["w1"]) == ids(runs["whole"])  # the same documents, in the same order, with the same ids
    config = json.loads((tmp_path / "w1" / "config.json").read_text())
    assert config["config"]["unit_bytes"] == 4096 and config["units"][1]["chunk"] == 1


def test_unit_bytes_is_checked_at_load(tmp_path):
    base = {"input": str(_jsonl(tmp_path / "a.jsonl")), "output": str(tmp_path / "o"), "stages": []}
    with pytest.raises(PipelineError, match="unit_bytes: must be at least 4096"):
        parse_pipeline({**base, "unit_bytes": 100})
    with pytest.raises(PipelineError, match="unit_bytes: expected int"):
        parse_pipeline({**base, "unit_bytes": "lots"})
    assert parse_pipeline(base).unit_bytes == 16 << 20
    assert "unit_bytes" not in parse_pipeline(base).to_dict()  # old pipelines keep their fingerprints
