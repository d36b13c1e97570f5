"""The `read` row of a run's stats adds up: every record read is kept or rejected, and counted."""

import gzip
import json

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline


def test_read_row_counts_rejected_records_as_documents_in(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.jsonl").write_bytes(b'{"text": "good one"}\n{"text": 42}\nnot json\n{"text": "good two"}\n')
    (inp / "b.txt").write_bytes(b"caf\xe9\n")  # invalid UTF-8: quarantined with `encoding: utf-8`
    (inp / "c.txt.gz").write_bytes(gzip.compress(b"word " * 5000)[:40])  # cut short
    (inp / "d.txt").write_text("plain text\n")
    (inp / "e.txt").write_bytes(b"")
    cfg = parse_pipeline({"input": str(inp), "output": str(tmp_path / "out"), "stages": [],
                          "reader": {"encoding": "utf-8"}})
    run_pipeline(cfg, workers=1, quiet=True)
    summary = json.loads((tmp_path / "out" / "stats.json").read_text())
    read = summary["stages"]["read"]
    assert (read["docs_out"], read["dropped"]) == (3, 5)
    assert read["docs_in"] == read["docs_out"] + read["dropped"]
    assert summary["documents_in"] == 8
