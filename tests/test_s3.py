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


def test_missing_remote_input_and_missing_bucket_are_refused_at_load(s3, tmp_path):
    with pytest.raises(PipelineError, match="input: not found: s3://corpus/nothing-here/"):
        parse_pipeline({"input": f"s3://{BUCKET}/nothing-here/", "output": str(tmp_path / "o")})
    with pytest.raises(PipelineError, match="output: not found: no-such-bucket"):
        parse_pipeline({"input": f"s3://{BUCKET}/in/", "output": "s3://no-such-bucket/out"})
    assert not (tmp_path / "o").exists() and not any(p.name == "s3:" for p in tmp_path.iterdir())


def _objects(fs, prefix):
    """Every object under `prefix` (relative name -> bytes), as a reader of the bucket sees them."""
    fs.invalidate_cache()
    return {k[len(prefix) + 1:]: fs.cat_file(k) for k in sorted(fs.find(prefix))}


def _run_files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_work" not in p.parts and p.name != ".corpuskit-lock" and "logs" not in p.parts}


PUBLISHED = {"input": None, "stages": [{"normalize": {}}, {"exact_dedup": {}}, {"minhash_dedup": {}}],
             "unit_bytes": 4096, "tokenizer": {"vocab_size": 300}, "shards": {"shard_tokens": 2000}}


def _same_run(got, expected):
    """Equal but for what names where the run happened: stats timings, config.json's paths, the card."""
    for files in (got, expected):
        for name in ("stats.json", "config.json", "README.md"):
            files.pop(name)
        files.pop("logs/run.log", None)  # times and paths
    assert got == expected


def test_output_on_s3_is_published_whole_and_a_crashed_publish_resumes(s3, tmp_path, monkeypatch):
    """The run works in its local folder and publishes every output to the bucket under a temporary
    key, then moves it; a publish that crashes midway (here: the 6th move raises) leaves the prefix
    without stats.json (unfinished) and a temporary key; the rerun uploads only what is missing,
    removes the temporary key, and the bucket then holds exactly the local run's outputs."""
    import corpuskit.publish as publish

    fs, local = s3
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))
    ref = tmp_path / "ref"
    run_pipeline(parse_pipeline({**PUBLISHED, "input": str(local), "output": str(ref)}), workers=2, quiet=True)
    url = f"s3://{BUCKET}/runs/one"
    cfg = parse_pipeline({**PUBLISHED, "input": str(local), "output": url})
    real_mv, moves = s3fs.S3FileSystem.mv, []

    def crashing_mv(self, *args, **kwargs):
        moves.append(args)
        if len(moves) == 6:
            raise OSError("injected: connection lost")
        return real_mv(self, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "mv", crashing_mv)
    with pytest.raises(OSError, match="injected"):
        run_pipeline(cfg, workers=2, quiet=True)
    half = _objects(fs, f"{BUCKET}/runs/one")
    assert "stats.json" not in half and any(".tmp-" in k for k in half) and len(half) >= 6
    monkeypatch.setattr(s3fs.S3FileSystem, "mv", real_mv)
    logs = []
    run_pipeline(cfg, workers=2, log=logs.append)
    # 5 moved before the crash; logs/run.log among them when sorted first, appended since (#39): 4
    assert any(line.startswith("published ") and (" 5 already there" in line or " 4 already there" in line)
               for line in logs), logs
    got = _objects(fs, f"{BUCKET}/runs/one")
    assert not any(".tmp-" in k for k in got) and "stats.json" in got
    assert any(k.startswith("shards/train/shard-") for k in got) and "reports/minhash_dedup.json" in got
    assert json.loads(got["stats.json"]) == json.loads((publish.work_dir(url) / "stats.json").read_text())
    _same_run(got, _run_files(ref))


def test_a_prefix_holding_other_objects_is_refused_and_kept(s3, tmp_path, monkeypatch):
    from corpuskit.layout import RunError

    fs, local = s3
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))
    fs.pipe_file(f"{BUCKET}/theirs/thesis.docx", b"not ours")
    cfg = parse_pipeline({"input": str(local), "output": f"s3://{BUCKET}/theirs", "stages": [{"normalize": {}}]})
    with pytest.raises(RunError, match="holds objects that corpuskit did not write.*thesis.docx"):
        run_pipeline(cfg, workers=1, quiet=True)
    assert _objects(fs, f"{BUCKET}/theirs") == {"thesis.docx": b"not ours"}


def test_a_minhash_index_on_s3_dedups_later_batches_and_keeps_one_generation(s3, tmp_path, monkeypatch):
    """`index_dir: s3://...`: the second batch loses its near copy of a first-batch document, the
    bucket then holds generation 2 only (marker, manifest, one store), and a third run from a
    fresh machine (no local copy) sees both batches."""
    from helpers.dedup import edit, prose, rejected, write_jsonl

    fs, _ = s3
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))
    index = f"s3://{BUCKET}/dedup-index"
    write_jsonl(tmp_path / "b1" / "x.jsonl", [(f"old{i}", prose(600 + i)) for i in range(5)])
    write_jsonl(tmp_path / "b2" / "y.jsonl", [("new", prose(700)), ("dup", edit(prose(601), 1, seed=1))])
    write_jsonl(tmp_path / "b3" / "z.jsonl", [("again", edit(prose(700), 1, seed=2))])
    stage = [{"minhash_dedup": {"index_dir": index}}]
    for b in ("b1", "b2"):
        run_pipeline(parse_pipeline({"input": str(tmp_path / b), "output": str(tmp_path / f"o{b}"),
                                     "stages": stage}), workers=1, quiet=True)
    assert {k: r["duplicate_of"] for k, r in rejected(tmp_path / "ob2").items()} == {"dup": "old1"}
    objects = _objects(fs, f"{BUCKET}/dedup-index")
    manifest = json.loads(objects["manifest.json"])
    assert manifest["generation"] == 2 and manifest["n_docs"] == 6
    assert {k.split("/")[0] for k in objects} == {".corpuskit-index", "manifest.json", "gen-000002"}
    import shutil

    shutil.rmtree(tmp_path / "work")  # another machine: only the bucket remembers
    run_pipeline(parse_pipeline({"input": str(tmp_path / "b3"), "output": str(tmp_path / "ob3"), "stages": stage}),
                 workers=1, quiet=True)
    assert {k: r["duplicate_of"] for k, r in rejected(tmp_path / "ob3").items()} == {"again": "new"}
    fs.pipe_file(f"{BUCKET}/not-an-index/data.csv", b"a,b\n")
    with pytest.raises(PipelineError, match="not a corpuskit MinHash index"):
        parse_pipeline({"input": str(tmp_path / "b3"), "output": str(tmp_path / "o4"),
                        "stages": [{"minhash_dedup": {"index_dir": f"s3://{BUCKET}/not-an-index"}}]})


def test_corpuskit_shard_publishes_a_shard_directory_to_s3(s3, tmp_path, monkeypatch):
    """`corpuskit shard INPUT s3://...`: the bucket holds the same files as a local OUT_DIR,
    manifest included; a second publish over it changes nothing."""
    from click.testing import CliRunner

    from corpuskit.cli import cli
    from corpuskit.tokenize.standalone import train_tokenizer

    fs, local = s3
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))
    tok = train_tokenizer(local, tmp_path / "tok", {"vocab_size": 300}, {}, log=lambda m: None)
    args = ["--tokenizer", str(tok), "--shard-tokens", "2000", "-q"]
    for out in (str(tmp_path / "here"), f"s3://{BUCKET}/shards-a", f"s3://{BUCKET}/shards-a"):
        result = CliRunner().invoke(cli, ["shard", str(local), out, *args])
        assert result.exit_code == 0, result.output
    here = {p.relative_to(tmp_path / "here").as_posix(): p.read_bytes()
            for p in sorted((tmp_path / "here").rglob("*")) if p.is_file()}
    assert _objects(fs, f"{BUCKET}/shards-a") == here and "manifest.json" in here and len(here) > 6


def test_publishing_again_keeps_a_users_objects_that_look_like_ours(s3, tmp_path, monkeypatch):
    """#33 item 19 on object storage: a rerun's cleanup deleted `.my.tmp-123` and `reports/mine.json`."""
    fs, local = s3
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))
    cfg = parse_pipeline({"input": str(local), "output": f"s3://{BUCKET}/lookalikes",
                          "stages": [{"normalize": {}}, {"minhash_dedup": {}}]})
    run_pipeline(cfg, workers=1, quiet=True)
    mine = {".my.tmp-123": b"mine", "reports/mine.json": b"{}", "reports/.mine.json.tmp-7": b"m"}
    for rel, data in mine.items():
        fs.pipe_file(f"{BUCKET}/lookalikes/{rel}", data)
    fs.pipe_file(f"{BUCKET}/lookalikes/.stats.json.tmp-4242", b"a crashed publish's")
    run_pipeline(cfg, workers=1, quiet=True, force=True)
    got = _objects(fs, f"{BUCKET}/lookalikes")
    assert {rel: got.get(rel) for rel in mine} == mine
    assert ".stats.json.tmp-4242" not in got and "reports/minhash_dedup.json" in got
