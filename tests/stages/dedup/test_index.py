"""The persistent MinHash index (`--index`): a run is recorded once, never compared against
itself (a redone reduce, --force), one writer at a time, never inside the run's own folders."""

import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.errors import ConfigError
from corpuskit.layout import RunError
from corpuskit.pipeline import parse_pipeline
from helpers.dedup import edit, kept_ids, prose, rejected, run_stages, write_jsonl


def _dedup(inp, out, index, *extra):
    res = CliRunner().invoke(cli, ["dedup", str(inp), str(out), "--index", str(index), "-q", "--workers", "1",
                                   *extra])
    assert res.exit_code == 0, res.output
    return res


def _manifest(index) -> dict:
    return json.loads((index / "manifest.json").read_text())


def _outputs(out) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("*/*.parquet"))
            if not p.relative_to(out).as_posix().startswith("_work")} | {
        p.name: p.read_bytes() for p in sorted(out.glob("part-*"))}


@pytest.fixture
def batch(tmp_path):
    """150 unrelated documents, as in the issue."""
    inp = tmp_path / "in"
    write_jsonl(inp / "a.jsonl", [(f"d{i}", prose(5000 + i)) for i in range(150)])
    return inp


def test_first_batch_redone_after_its_index_was_published_keeps_every_document(batch, tmp_path):
    """Issue 33/2: killed right after the manifest of a new index was written, the rerun
    compared the batch with itself (0 of 150 kept, each a duplicate of itself)."""
    out, index = tmp_path / "out", tmp_path / "ix"
    _dedup(batch, out, index)
    first = _outputs(out)
    # the state a kill between the manifest write and the reduce's completion marker leaves
    done = out / "_work" / "done"
    reduce_marker = sorted(done.glob("seg*-reduce"))[-1]
    reduce_marker.unlink()
    for p in done.glob(f"seg{int(reduce_marker.name[3]) + 1}-unit*"):
        p.unlink()
    for p in out.glob("part-*"):
        p.unlink()
    _dedup(batch, out, index)
    assert len(kept_ids(out)) == 150 and rejected(out) == {}
    assert _outputs(out) == first
    manifest = _manifest(index)
    assert manifest["n_docs"] == 150 and [b["added"] for b in manifest["batches"]] == [150]  # recorded once


def test_force_with_an_index_gives_the_first_runs_output(batch, tmp_path):
    """Issue 33/3: `--force` compared the batch with the documents it had added itself."""
    out, index = tmp_path / "out", tmp_path / "ix"
    _dedup(batch, out, index)
    first = _outputs(out)
    _dedup(batch, out, index, "--force")
    assert _outputs(out) == first and len(kept_ids(out)) == 150
    manifest = _manifest(index)
    assert manifest["n_docs"] == 150 and len(manifest["batches"]) == 1
    assert [p.name for p in index.glob("gen-*")] == [manifest["current"]]


def test_a_killed_writers_temporaries_in_the_index_are_removed_by_the_next_run(batch, tmp_path):
    """A kill between writing the manifest's temporary and renaming it (or mid-way through a new
    generation) left `.manifest.json.tmp-PID` (`.gen-N.tmp-PID`); a rerun whose batch was already
    recorded published nothing and left them there for good (seen in tests/test_kill.py)."""
    out, index = tmp_path / "out", tmp_path / "ix"
    _dedup(batch, out, index)
    first, manifest = _outputs(out), _manifest(index)
    (index / ".manifest.json.tmp-99999").write_text("{")
    (index / ".gen-000009.tmp-99999").mkdir()
    (index / ".gen-000009.tmp-99999" / "ids.txt").write_text("x\n")
    _dedup(batch, out, index, "--force")
    assert _outputs(out) == first and _manifest(index)["batches"] == manifest["batches"]
    assert sorted(p.name for p in index.iterdir() if p.name.startswith(".") and "tmp" in p.name) == []


def test_force_replaces_its_own_batch_among_others(tmp_path):
    """A, then B, then A again with --force: A's output is unchanged, the index holds A and B
    once each (A's rows move to the end), and a later batch still finds duplicates of both."""
    index = tmp_path / "ix"
    write_jsonl(tmp_path / "a" / "x.jsonl", [(f"a{i}", prose(100 + i)) for i in range(10)])
    write_jsonl(tmp_path / "b" / "y.jsonl", [(f"b{i}", prose(200 + i)) for i in range(5)]
                + [("b_dup", edit(prose(103), 2, seed=1))])
    stage = [{"minhash_dedup": {"index_dir": str(index)}}]
    run_stages(tmp_path / "a", tmp_path / "oa", stage)
    first = _outputs(tmp_path / "oa")
    run_stages(tmp_path / "b", tmp_path / "ob", stage)
    assert rejected(tmp_path / "ob")["b_dup"]["duplicate_of"] == "a3"
    run_stages(tmp_path / "a", tmp_path / "oa", stage, force=True)
    assert _outputs(tmp_path / "oa") == first
    manifest = _manifest(index)
    assert manifest["n_docs"] == 15 and [b["added"] for b in manifest["batches"]] == [5, 10]
    write_jsonl(tmp_path / "c" / "z.jsonl", [("c1", edit(prose(107), 1, seed=2)), ("c2", edit(prose(202), 1, seed=3))])
    run_stages(tmp_path / "c", tmp_path / "oc", stage)
    assert {k: r["duplicate_of"] for k, r in rejected(tmp_path / "oc").items()} == {"c1": "a7", "c2": "b2"}


def test_the_same_input_into_another_output_is_a_duplicate_of_the_index(batch, tmp_path):
    """A batch is recognised by its run folder and content together: the same documents run
    again into another output are duplicates of the index, as before."""
    index = tmp_path / "ix"
    _dedup(batch, tmp_path / "o1", index)
    run_stages(batch, tmp_path / "o2", [{"minhash_dedup": {"index_dir": str(index)}}])
    assert kept_ids(tmp_path / "o2") == []
    assert {r["duplicate_of"] for r in rejected(tmp_path / "o2").values()} <= {f"d{i}" for i in range(150)}
    assert _manifest(index)["n_docs"] == 150 and len(_manifest(index)["batches"]) == 2


def test_a_second_writer_is_refused_while_a_run_updates_the_index(batch, tmp_path):
    """Issue 33/8: two runs updating one index at once both ended with exit 0, and the one
    that published last dropped the other's documents. The reduce holds the index's lock."""
    from corpuskit.stages.dedup.index import index_lock

    index = tmp_path / "ix"
    write_jsonl(tmp_path / "other" / "o.jsonl", [(f"o{i}", prose(9000 + i)) for i in range(20)])
    _dedup(tmp_path / "other", tmp_path / "o0", index)
    with index_lock(index):  # another run's reduce, in the middle of its update
        with pytest.raises(RunError, match="in use by another corpuskit MinHash index update"):
            run_stages(batch, tmp_path / "out", [{"minhash_dedup": {"index_dir": str(index)}}])
    assert _manifest(index)["n_docs"] == 20
    run_stages(batch, tmp_path / "out", [{"minhash_dedup": {"index_dir": str(index)}}])  # resumes
    assert _manifest(index)["n_docs"] == 170 and len(kept_ids(tmp_path / "out")) == 150


def test_two_runs_at_once_lose_nothing_from_the_index(tmp_path):
    """Two real `corpuskit dedup` processes on one index at the same moment: each ends with
    exit 0 or the lock's one-line error, a rerun of a refused one completes, and the index
    holds both batches' documents."""
    index = tmp_path / "ix"
    for name, base in (("a", 0), ("b", 5000)):
        write_jsonl(tmp_path / name / "x.jsonl", [(f"{name}{i}", prose(base + i)) for i in range(400)])
    cmd = [sys.executable, "-m", "corpuskit", "dedup", "--index", str(index), "-q", "--workers", "1"]
    procs = {n: subprocess.Popen(cmd + [str(tmp_path / n), str(tmp_path / f"o{n}")], stderr=subprocess.PIPE,
                                 text=True) for n in "ab"}
    for n, p in procs.items():
        err = p.communicate(timeout=120)[1]
        if p.returncode != 0:
            assert "Traceback" not in err and "in use by another corpuskit MinHash index update" in err, err
            again = subprocess.run(cmd + [str(tmp_path / n), str(tmp_path / f"o{n}")], capture_output=True, text=True)
            assert again.returncode == 0, again.stderr
    manifest = _manifest(index)
    assert manifest["n_docs"] == 800 and sorted(b["added"] for b in manifest["batches"]) == [400, 400]


@pytest.mark.parametrize("where", ["output", "inside_output", "inside_input", "holds_output"])
def test_an_index_in_the_runs_own_folders_is_refused_before_any_work(batch, tmp_path, where):
    """Issue 33/28: `dedup in X --index X` was refused only after every pass had run."""
    out = tmp_path / "out"
    index = {"output": out, "inside_output": out / "ix", "inside_input": batch / "ix",
             "holds_output": tmp_path}[where]
    if where == "holds_output":
        out = tmp_path / "ix" / "out"
        index = tmp_path / "ix"
    t0 = time.monotonic()
    res = CliRunner().invoke(cli, ["dedup", str(batch), str(out), "--index", str(index), "-q", "--workers", "1"])
    assert res.exit_code == 1 and "overlap" in res.output and str(index) in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not out.exists() and not (batch / "ix").exists() and time.monotonic() - t0 < 10


@pytest.mark.parametrize("params, named", [
    ({"ngram": 100000}, "ngram"), ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"),
    ({"num_perm": 100_000_000}, "num_perm"), ({"num_perm": 0}, "num_perm"), ({"bands": 4}, "bands"),
    ({"bands": 20, "rows": 8}, "num_perm"), ({"threshold": 1.0}, "threshold"),
    ({"max_cluster_size": 1}, "max_cluster_size"),
    ({"keep": "random"}, "keep"), ({"batch_size": 0}, "batch_size")],
    ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_out_of_range_parameters_are_refused_at_load(tmp_path, params, named):
    """Issue 33/17-18: `ngram: 100000` and `seed: -1` were accepted, then a traceback mid-run;
    `num_perm: 100000000` hung at load. Now each is a one-line error naming the parameter."""
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a", prose(1))])
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=named) as err:
        parse_pipeline({"input": str(tmp_path / "in"), "stages": [{"minhash_dedup": params}]})
    assert "\n" not in str(err.value) and time.monotonic() - t0 < 5


def test_a_reduce_redone_on_an_existing_index_records_its_batch_once(tmp_path):
    """Issue 33/26: a reduce redone after it had published appended its batch a second time."""
    from corpuskit.stage import StageContext
    from corpuskit.stages.dedup.minhash import MinhashDedup

    index = tmp_path / "ix"
    write_jsonl(tmp_path / "b1" / "x.jsonl", [(f"old{i}", prose(600 + i)) for i in range(5)])
    write_jsonl(tmp_path / "b2" / "y.jsonl", [("new", prose(700)), ("dup", edit(prose(601), 1, seed=1))])
    stage = [{"minhash_dedup": {"index_dir": str(index)}}]
    run_stages(tmp_path / "b1", tmp_path / "o1", stage)
    run_stages(tmp_path / "b2", tmp_path / "o2", stage)
    before = _manifest(index)
    workdir = tmp_path / "o2" / "_work" / "stages" / "minhash_dedup"
    for _ in range(2):
        MinhashDedup(index_dir=str(index)).reduce(StageContext(workdir=workdir, unit=0, n_units=1))
    after = _manifest(index)
    assert after["generation"] == before["generation"] + 2
    assert after["batches"] == before["batches"] and [b["added"] for b in after["batches"]] == [5, 1]
    assert after["n_docs"] == 6 and len({b["id"] for b in after["batches"]}) == 2


@pytest.mark.parametrize("damage", ["current_outside", "generation_missing", "band_cut", "ids_cut"])
def test_a_damaged_index_is_a_one_line_error(tmp_path, damage):
    """An index whose manifest or current generation does not add up is refused, naming it,
    rather than read (a traceback, or a manifest sending the run outside the index)."""
    index = tmp_path / "ix"
    write_jsonl(tmp_path / "in" / "x.jsonl", [(f"d{i}", prose(i)) for i in range(5)])
    stage = [{"minhash_dedup": {"index_dir": str(index)}}]
    run_stages(tmp_path / "in", tmp_path / "o1", stage)
    manifest = _manifest(index)
    gen = index / manifest["current"]
    if damage == "current_outside":
        manifest["current"] = "../o1"
        (index / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "generation_missing":
        for p in gen.iterdir():
            p.unlink()
        gen.rmdir()
    elif damage == "band_cut":
        (gen / "band-03.u64").write_bytes((gen / "band-03.u64").read_bytes()[:-8])
    else:
        (gen / "ids.txt").write_text("".join((gen / "ids.txt").read_text().splitlines(True)[:-1]))
    with pytest.raises(ConfigError, match="the index is damaged") as err:
        run_stages(tmp_path / "in", tmp_path / "o2", stage)
    assert "\n" not in str(err.value)
