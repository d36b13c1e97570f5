"""Which files a run reads: nothing outside the input folder, nothing that can block, nothing skipped unsaid."""

import os
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from helpers.collect import read_all

from corpuskit.errors import CorpuskitError
from corpuskit.readers import InputError, list_sources

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_READS_ANYTHING = "runs as root, which reads files and folders whatever their permissions"


def _reasons(rejected):
    return [(doc.source, reason) for doc, reason, _ in rejected]


@contextmanager
def _without_permission(path):
    path.chmod(0)
    try:
        yield
    finally:
        path.chmod(0o700)


@pytest.mark.skipif(AS_ROOT, reason=ROOT_READS_ANYTHING)
def test_file_without_read_permission_is_unreadable(tmp_path):
    (tmp_path / "ok.txt").write_text("fine\n")
    (tmp_path / "secret.txt").write_text("private\n")
    with _without_permission(tmp_path / "secret.txt"):
        docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    assert _reasons(rejected) == [("secret.txt", "unreadable")]


@pytest.mark.parametrize("name", ["secret.txt", "secret.jsonl", "secret.csv", "secret.txt.gz"])
def test_an_os_error_on_open_is_unreadable_not_a_truncated_archive(tmp_path, monkeypatch, name):
    """The same refusal as above, for root too: open() fails as it does on a file without permission."""
    (tmp_path / name).write_text("private\n")
    real_open = open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(name):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    docs, rejected = read_all(tmp_path)
    assert docs == [] and _reasons(rejected) == [(name, "unreadable")]
    assert "Permission denied" in rejected[0][2]


@pytest.mark.skipif(AS_ROOT, reason=ROOT_READS_ANYTHING)
def test_folder_without_read_permission_is_unreadable(tmp_path):
    (tmp_path / "ok.txt").write_text("fine\n")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.txt").write_text("cannot be listed\n")
    with _without_permission(tmp_path / "locked"):
        docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    assert _reasons(rejected) == [("locked", "unreadable")]


def _unblock(fifo, stop):
    """Open the FIFO's writing end once a reader waits on it, so that a reader that opens it gets EOF, not a hang."""
    while not stop.wait(0.05):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody is reading it
            continue
        os.close(fd)
        return


def test_named_pipe_is_unreadable_and_never_opened(tmp_path):
    (tmp_path / "ok.txt").write_text("fine\n")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    stop = threading.Event()
    helper = threading.Thread(target=_unblock, args=(fifo, stop), daemon=True)
    helper.start()
    try:
        docs, rejected = read_all(tmp_path)
    finally:
        stop.set()
        helper.join()
    assert [d.text for d in docs] == ["fine"]
    assert _reasons(rejected) == [("pipe.txt", "unreadable")]
    assert "not a regular file" in rejected[0][2]


@pytest.fixture
def tree(tmp_path):
    """An input folder `in/` beside a folder `out/` that is not ours."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "secret.txt").write_text("not ours\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.txt").write_text("fine\n")
    return tmp_path / "in"


def test_symlink_to_a_file_outside_the_input_is_refused(tree):
    (tree / "secret.txt").symlink_to("../out/secret.txt")
    docs, rejected = read_all(tree)
    assert [d.text for d in docs] == ["fine"]
    assert _reasons(rejected) == [("secret.txt", "outside_input")]
    assert "out/secret.txt" in rejected[0][2]


def test_symlink_to_a_folder_outside_the_input_is_refused_whatever_the_glob(tree):
    (tree / "elsewhere").symlink_to("../out")
    for glob in ("**/*", "*/*"):
        docs, rejected = read_all(tree, glob=glob)
        assert "not ours" not in [d.text for d in docs]
        assert [reason for _, reason, _ in rejected] == ["outside_input"]


def test_symlink_loop_is_rejected_not_followed(tree):
    (tree / "loop.txt").symlink_to("loop2.txt")
    (tree / "loop2.txt").symlink_to("loop.txt")
    (tree / "sub").mkdir()
    (tree / "sub" / "self").symlink_to(".")  # a folder loop: never descended
    docs, rejected = read_all(tree)
    assert [d.text for d in docs] == ["fine"]
    assert _reasons(rejected) == [("loop.txt", "symlink_loop"), ("loop2.txt", "symlink_loop")]


def test_dangling_symlink_is_unreadable(tree):
    (tree / "gone.txt").symlink_to("nowhere.txt")
    _, rejected = read_all(tree)
    assert _reasons(rejected) == [("gone.txt", "unreadable")]


def test_symlink_inside_the_input_is_read(tree):
    (tree / "again.txt").symlink_to("ok.txt")
    docs, rejected = read_all(tree)
    assert rejected == [] and [d.text for d in docs] == ["fine", "fine"]


@pytest.mark.parametrize("glob", ["/etc/*", "../out/*", "sub/../../out/*", ""])
def test_glob_that_leaves_the_input_folder_is_refused(tree, glob):
    with pytest.raises(InputError) as err:
        read_all(tree, glob=glob)
    assert f"glob {glob!r} must be a pattern relative to the input folder" in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, CorpuskitError)


def test_hub_dataset_offline_is_a_one_line_error_naming_it(tmp_path):
    """Through the command line, as a user sees it: `Error: ...`, exit status 1, no traceback."""
    pipeline = tmp_path / "hub.yaml"
    pipeline.write_text(f"input: hf:corpuskit-test/absent\noutput: {tmp_path / 'out'}\nstages: []\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "corpuskit", "run", str(pipeline), "--quiet", "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: hf:corpuskit-test/absent: cannot load this Hugging Face dataset")


def _finished_run(prose_dir, out):
    from corpuskit.pipeline import parse_pipeline
    from corpuskit.runner import run_pipeline

    run_pipeline(parse_pipeline({"input": str(prose_dir), "output": str(out), "stages": [{"exact_dedup": {}}]}),
                 workers=1, quiet=True)
    return out


def test_a_finished_run_as_input_gives_its_kept_documents_only(prose_dir, tmp_path):
    out = _finished_run(prose_dir, tmp_path / "out")
    (out / "part-notes.txt").write_text("a user's note beside the run\n")
    docs, rejected = read_all(out)
    assert [d.id for d in docs] == ["a.txt#0", "b.txt#0"]  # c.txt was rejected, and stays so
    assert _reasons(rejected) == []  # c.txt's unit kept nothing: that run's outcome, not a reject here (#39)


def test_an_unfinished_run_as_input_is_refused(prose_dir, tmp_path):
    """#33 item 5: its rejected/, _work/ and shards/ were read, and rejected documents came back as kept."""
    out = _finished_run(prose_dir, tmp_path / "out")
    (out / "stats.json").unlink()  # as a killed run leaves it
    with pytest.raises(InputError, match=f"{out} is an unfinished corpuskit run"):
        read_all(out)


def test_a_users_folder_with_a_stats_json_is_read_whole(tmp_path):
    """#33 item 5: `stats.json` and `part-1.txt` made any folder a run: its other files were skipped silently."""
    (tmp_path / "part-1.txt").write_text("one\n")
    (tmp_path / "notes.txt").write_text("two\n")
    (tmp_path / "stats.json").write_text("{}")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["two", "one"]
    assert _reasons(rejected) == [("stats.json", "unsupported_format")]


def test_a_run_folder_inside_the_input_gives_its_kept_documents_only(prose_dir, tmp_path):
    """A finished run inside an input folder: its rejects, _work and shards came back as documents."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "notes.txt").write_text("a note\n")
    _finished_run(prose_dir, inp / "old")
    docs, rejected = read_all(inp)
    assert [d.id for d in docs] == ["notes.txt#0", "a.txt#0", "b.txt#0"]
    assert _reasons(rejected) == []  # old/part-00002.parquet: empty, that run's outcome (#39)
    (inp / "old" / "stats.json").unlink()
    with pytest.raises(InputError, match=f"{inp / 'old'} is an unfinished corpuskit run"):
        read_all(inp)


def test_a_published_run_under_a_remote_input_gives_its_kept_documents_only():
    """A run on object storage as input: its rejected/ came back as kept documents."""
    import fsspec

    fs = fsspec.filesystem("memory")
    files = {"notes.txt": b"a note\n", "old/.corpuskit-run": b"{}", "old/stats.json": b"{}",
             "old/part-00000.parquet": b"", "old/rejected/seg0-part-00000.parquet": b"",
             "old/shards/train/shard-00000.arrow": b"", "old/part-notes.txt": b"mine\n"}
    for rel, data in files.items():
        fs.pipe_file(f"/h3-runs/{rel}", data)
    try:
        assert [s.rel for s in list_sources("memory://h3-runs")] == ["notes.txt", "old/part-00000.parquet"]
        assert [s.rel for s in list_sources("memory://h3-runs/old")] == ["part-00000.parquet"]
        fs.rm_file("/h3-runs/old/stats.json")  # a publish that stopped midway
        with pytest.raises(InputError, match="memory://h3-runs/old is an unfinished corpuskit run"):
            list_sources("memory://h3-runs")
    finally:
        fs.rm("/h3-runs", recursive=True)
