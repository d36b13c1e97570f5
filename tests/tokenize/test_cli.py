import json

from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.layout import RunPaths


def test_tokenizer_train_then_shard_then_export(corpus, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["tokenizer", "train", str(corpus[0]), str(tmp_path / "tok"), "--vocab-size", "300",
                            "-w", "1"])
    assert r.exit_code == 0, r.output
    assert "trained 300-token" in r.output
    tok = tmp_path / "tok" / "tokenizer.json"
    r = runner.invoke(cli, ["shard", str(corpus[0]), str(tmp_path / "sh"), "--tokenizer", str(tok),
                            "--shard-tokens", "2000", "--test", "0.1"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "sh" / "manifest.json").read_text())
    assert set(m["splits"]) == {"train", "validation", "test"} and m["pipeline_config_sha256"] is None
    r = runner.invoke(cli, ["shard", str(corpus[0]), str(tmp_path / "sh"), "--tokenizer", str(tok),
                            "--shard-tokens", "2000", "--test", "0.1"])
    assert "up to date" in r.output
    r = runner.invoke(cli, ["export", str(tmp_path / "sh"), str(tmp_path / "ng"), "--format", "nanogpt"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ng" / "train.bin").stat().st_size == 2 * m["splits"]["train"]["n_tokens"]


def test_clear_errors(corpus, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["export", str(tmp_path), str(tmp_path / "x"), "--format", "llmc"])
    assert r.exit_code != 0 and "no manifest.json" in r.output
    r = runner.invoke(cli, ["tokenizer", "train", str(corpus[0]), str(tmp_path / "t"), "--validation", "1.2"])
    assert r.exit_code != 0 and "validation must be a fraction" in r.output


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for args in (["tokenizer"], ["tokenizer", "train"], ["shard"], ["export"]):
        r = runner.invoke(cli, args + ["--help"])
        assert r.exit_code == 0 and "Example:" in r.output, args


def test_shards_of_a_run_name_its_config(corpus, tokenizer_file, tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input: {corpus[0]}\noutput: {tmp_path / 'run'}\nstages:\n  - normalize: {{}}\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["run", str(pipeline), "-w", "1", "-q"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["shard", str(tmp_path / "run"), str(tmp_path / "sh"), "--tokenizer", str(tokenizer_file),
                            "-q"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "sh" / "manifest.json").read_text())
    assert m["pipeline_config_sha256"] == RunPaths(tmp_path / "run").fingerprint() is not None


def test_bad_option_values_are_one_line(corpus, tokenizer_file, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["shard", str(corpus[0]), str(tmp_path / "sh"), "--tokenizer", str(tokenizer_file),
                            "--validation", "0.6", "--test", "0.5"])
    assert r.exit_code == 1 and r.output == "Error: validation + test must leave documents for training; got 1.1\n"
    r = runner.invoke(cli, ["tokenizer", "train", str(corpus[0]), str(tmp_path / "t"), "--bos-token", "<|endoftext|>"])
    assert r.exit_code == 1 and "special tokens must be distinct" in r.output


def test_tokenizer_train_refuses_a_folder_it_did_not_create(corpus, tmp_path):
    """The user's own tokenizer.json is never overwritten, nor recorded as corpuskit's, even with --force."""
    runner = CliRunner()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "tokenizer.json").write_text('{"the user\'s": "tokenizer"}')
    for extra in ([], ["--force"]):
        r = runner.invoke(cli, ["tokenizer", "train", str(corpus[0]), str(mine), "--vocab-size", "300", "-w", "1",
                                *extra])
        assert r.exit_code == 1 and r.output == (f"Error: {mine} is not empty and was not created by corpuskit; "
                                                 "refusing to write the tokenizer there (choose a new or empty folder)\n")
    assert sorted(p.name for p in mine.iterdir()) == ["tokenizer.json"]
    assert (mine / "tokenizer.json").read_text() == '{"the user\'s": "tokenizer"}'


def test_tokenizer_train_writes_into_an_empty_folder_and_force_replaces_only_its_own_names(corpus, tmp_path):
    runner = CliRunner()
    out = tmp_path / "empty"
    out.mkdir()
    args = ["tokenizer", "train", str(corpus[0]), str(out), "--vocab-size", "300", "-w", "1"]
    assert runner.invoke(cli, args).exit_code == 0
    (out / "notes.txt").write_text("mine")  # the user's file, put into corpuskit's folder later
    assert "up to date" in runner.invoke(cli, args).output
    r = runner.invoke(cli, args + ["--force"])
    assert r.exit_code == 0 and "trained 300-token" in r.output
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == [".corpuskit-tokenizer", "notes.txt", "tokenizer.json",
                                                     "tokenizer.training.json"]


def test_a_second_tokenizer_train_into_a_folder_in_use_is_refused(corpus, tmp_path):
    import socket
    import subprocess

    runner = CliRunner()
    out = tmp_path / "tok"
    args = ["tokenizer", "train", str(corpus[0]), str(out), "--vocab-size", "300", "-w", "1"]
    assert runner.invoke(cli, args).exit_code == 0
    before = (out / "tokenizer.json").read_bytes()
    child = subprocess.Popen(["sleep", "60"])  # a live process holds the folder's lock
    try:
        (out / ".corpuskit-lock").write_text(json.dumps({"pid": child.pid, "host": socket.gethostname()}))
        r = runner.invoke(cli, args + ["--vocab-size", "310"])
        assert r.exit_code == 1 and f"{out} is in use by another corpuskit tokenizer training (pid {child.pid}" in r.output
    finally:
        child.kill()
        child.wait()
    assert (out / "tokenizer.json").read_bytes() == before


def test_an_unreadable_training_record_means_train_again_not_a_traceback(corpus, tmp_path):
    runner = CliRunner()
    out = tmp_path / "tok"
    args = ["tokenizer", "train", str(corpus[0]), str(out), "--vocab-size", "300", "-w", "1"]
    assert runner.invoke(cli, args).exit_code == 0
    (out / "tokenizer.training.json").write_text('{"inputs_sha256": ')  # cut short
    r = runner.invoke(cli, args)
    assert r.exit_code == 0 and "trained 300-token" in r.output, r.output
    assert json.loads((out / "tokenizer.training.json").read_text())["n_documents"] > 0
