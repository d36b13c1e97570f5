"""Inputs on S3, for real: a moto S3 server started on localhost by these tests (as s3fs's
own test suite does), read through fsspec/s3fs with credentials and the endpoint from the
environment, exactly as a user's run would. The server is stopped when the module ends."""

import json

import pyarrow.parquet as pq
import pytest

from corpuskit.pipeline import PipelineError, parse_pipeline
from corpuskit.readers import ReaderConfig, list_sources, plan_units, read_source
from corpuskit.runner import run_pipeline

s3fs = pytest.importorskip("s3fs")
pytest.importorskip("moto.server")
from helpers.s3 import s3_server  # noqa: E402

BUCKET = "corpus"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """(fs, local copy of the inputs): the same files on local disk and under s3://corpus/in/."""
    local = tmp_path_factory.mktemp("s3-in")
    lines = [json.dumps({"text": f"record {i} of the big file tells of the river and the mill " * (1 + i % 4)})
             for i in range(400)]
    (local / "big.jsonl").write_text("\n".join(lines[:200]) + "\n\n" + "\n".join(lines[200:]) + "\n{broken\n")
    (local / "notes.txt").write_text("A short note about the river, the mill and the old bridge.\n\n"
                                     "Another paragraph about the lamps along the street at night.\n")
    with s3_server():
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir(BUCKET)
        fs.put(str(local) + "/", f"{BUCKET}/in/", recursive=True)
        yield fs, local


def _docs(units):
    out = []
    for src in units:
        out += [(d.id, d.source, d.text) for d in read_source(src, ReaderConfig(), lambda *a, **k: None)]
    return out


def test_remote_units_and_documents_equal_the_local_ones(s3):
    _, local = s3
    remote = plan_units(list_sources(f"s3://{BUCKET}/in/"), 4096)
    here = plan_units(list_sources(local), 4096)
    key = lambda u: (u.rel, u.kind, u.chunk, u.start, u.end, u.line, u.pos)  # noqa: E731
    assert [key(u) for u in remote] == [key(u) for u in here] and len(remote) > 3
    assert remote[0].path.startswith("s3://")
    assert _docs(remote) == _docs(here)


def _parts(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.parquet"))
            if "_work" not in p.parts}


STAGES = [{"normalize": {}}, {"helpers.faults:CrashAfter": {"source": "big.jsonl", "after": 5, "hard": True}},
          {"exact_dedup": {}}]


def test_run_from_s3_killed_worker_then_resumed_equals_a_local_run(s3, tmp_path, monkeypatch):
    _, local = s3
    ref = tmp_path / "local"
    run_pipeline(parse_pipeline({"input": str(local), "output": str(ref), "stages": STAGES, "unit_bytes": 4096}),
                 workers=2, quiet=True)
    out = tmp_path / "remote"
    cfg = parse_pipeline({"input": f"s3://{BUCKET}/in/", "output": str(out), "stages": STAGES, "unit_bytes": 4096})
    monkeypatch.setenv("CORPUSKIT_TEST_CRASH", "1")  # a worker dies mid-unit (os._exit), as if killed
    with pytest.raises(Exception):
        run_pipeline(cfg, workers=2, quiet=True)
    monkeypatch.delenv("CORPUSKIT_TEST_CRASH")
    run_pipeline(cfg, workers=2, quiet=True)
    parts = _parts(out)
    assert parts == _parts(ref)
    last = max(k for k in parts if k.startswith("part-00000-"))
    assert f"rejected/seg0-{last}" in parts  # the malformed last line, in the last chunk
    ids = [i for p in sorted(out.glob("part-*")) for i in pq.read_table(p)["id"].to_pylist()]
    assert len(ids) == len(set(ids)) > 300
    config = json.loads((out / "config.json").read_text())
    assert config["units"][0]["path"] == f"s3://{BUCKET}/in/big.jsonl"


def test_missing_remote_input_and_remote_output_are_refused_at_load(s3, tmp_path):
    with pytest.raises(PipelineError, match="input: not found: s3://corpus/nothing-here/"):
        parse_pipeline({"input": f"s3://{BUCKET}/nothing-here/", "output": str(tmp_path / "o")})
    with pytest.raises(PipelineError, match="output: s3://corpus/out: a run folder must be on local disk"):
        parse_pipeline({"input": f"s3://{BUCKET}/in/", "output": f"s3://{BUCKET}/out"})
    assert not (tmp_path / "o").exists() and not any(p.name == "s3:" for p in tmp_path.iterdir())
