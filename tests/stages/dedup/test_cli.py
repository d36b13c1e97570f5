import json

from click.testing import CliRunner

from corpuskit.cli import cli

from helpers.dedup import edit, prose, rejected, write_jsonl


def test_dedup_command_exact_and_near(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a", prose(1)), ("b", prose(2)), ("a_copy", prose(1)),
                                              ("a_near", edit(prose(1), 2, seed=1))])
    res = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in"), str(tmp_path / "out"), "-q", "--workers", "1",
                                   "--index", str(tmp_path / "ix")])
    assert res.exit_code == 0, res.output
    rej = rejected(tmp_path / "out")
    assert {k: (r["reason"], r["duplicate_of"]) for k, r in rej.items()} == {
        "a_copy": ("exact_duplicate", "a"), "a_near": ("minhash_duplicate", "a")}
    assert json.loads((tmp_path / "ix" / "manifest.json").read_text())["n_docs"] == 2


def test_dedup_command_options(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a", prose(1)), ("a_near", edit(prose(1), 2, seed=1))])
    res = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in"), str(tmp_path / "out"), "-q", "--exact-only"])
    assert res.exit_code == 0, res.output
    assert rejected(tmp_path / "out") == {}
    res = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in"), str(tmp_path / "out2"), "-q",
                                   "--threshold", "0.6", "--ngram", "3", "--num-perm", "64"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((tmp_path / "out2" / "config.json").read_text())["config"]["stages"][1]["params"]
    assert cfg == {"threshold": 0.6, "ngram": 3, "num_perm": 64}
    assert "a_near" in rejected(tmp_path / "out2")


def test_dedup_command_refuses_minhash_options_with_exact_only(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a", prose(1))])
    res = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in"), str(tmp_path / "out"), "--exact-only",
                                   "--index", str(tmp_path / "ix")])
    assert res.exit_code == 2 and "--exact-only" in res.output
