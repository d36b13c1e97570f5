"""`corpuskit toxicity score | filter | eval` through click's runner."""

import json

from click.testing import CliRunner

from helpers import FIXTURES
from corpuskit.cli import cli
from corpuskit.readers.parquet import iter_documents

FIXTURE = FIXTURES / "davidson_heldout_sample.csv"


def test_score_reads_jsonl_from_stdin_and_reports_bad_lines():
    stdin = "\n".join([
        json.dumps({"id": "a", "text": "You are a f*cking idiot"}),
        json.dumps({"text": "A lovely day in the garden."}),
        "not json",
    ]) + "\n"
    result = CliRunner().invoke(cli, ["toxicity", "score", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [r["id"] for r in lines] == ["a", "stdin:2"]
    assert lines[0]["score"] > 0.5 > lines[1]["score"]
    assert all(0 <= r["score"] <= 1 for r in lines)
    assert "stdin:3: malformed_json" in result.stderr


def test_score_file_to_output(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "fuck you bitch"}) + "\n", encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(cli, ["toxicity", "score", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["id"] == "x"


def test_filter_through_the_runner(tmp_path):
    src = tmp_path / "in.jsonl"
    docs = [
        {"id": "abuse", "text": "shut up you stupid bitch\nfuck you faggot\nkill yourself"},
        {"id": "book", "text": "The old sailor swore a little, then he told us about the island."},
    ]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["toxicity", "filter", str(src), str(out), "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    kept = [d for p in sorted(out.glob("part-*")) for d in iter_documents(p)]
    assert [d.id for d in kept] == ["book"]
    assert "toxicity" in kept[0].metadata
    stats = json.loads((out / "stats.json").read_text())
    assert "dropped_toxic" in json.dumps(stats)


def test_eval_prints_figures():
    result = CliRunner().invoke(cli, ["toxicity", "eval", str(FIXTURE), "--text-column", "tweet",
                                      "--label-column", "class", "--positive", "0,1", "--json"])
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout)
    assert m["n"] == 450 and m["positives"] == 300
    assert m["roc_auc"] > 0.95 and m["f1"] > 0.78  # F1 at the stage threshold, set for books (0.8)


def test_eval_unknown_column_is_an_error():
    result = CliRunner().invoke(cli, ["toxicity", "eval", str(FIXTURE), "--text-column", "nope",
                                      "--label-column", "class"])
    assert result.exit_code != 0
    assert "no column" in result.output


def test_bad_scorer_options_are_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["toxicity", "score", "-", "--scorer", "hf"], input="")
    assert result.exit_code == 1
    assert result.output == "Error: scorer 'hf' needs model: the folder of a saved text-classification model\n"
    result = CliRunner().invoke(cli, ["toxicity", "eval", str(FIXTURE), "--text-column", "tweet",
                                      "--label-column", "class", "--split", "test", "--positive", "0,1",
                                      "--scorer", "hf"])
    assert result.exit_code == 1 and "needs model" in result.output


def test_filter_defaults_are_the_stage_defaults(tmp_path):
    from corpuskit.schema import signature_types
    from corpuskit.stages.toxicity.stage import ToxicityFilter

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "A quiet walk by the river."}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["toxicity", "filter", str(src), str(tmp_path / "out"), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    params = json.loads((tmp_path / "out" / "config.json").read_text())["config"]["stages"][0]["params"]
    defaults = {n: p.default for n, p in signature_types(ToxicityFilter).items() if n != "wordlist"}
    assert params == defaults
