"""The tokenizer and shards sections of a pipeline, run by `run_pipeline`."""

import json

import pytest

from corpuskit.pipeline import check_sections as check_post_config, parse_pipeline
from corpuskit.runner import run_pipeline


@pytest.fixture()
def pipeline(tmp_path, synth):
    make_records, write_jsonl = synth
    inp = tmp_path / "in"
    inp.mkdir()
    recs = [r for r in make_records(120, seed=3) if r["text"]]
    write_jsonl(inp / "a.jsonl", recs[:60])
    write_jsonl(inp / "b.jsonl", recs[60:])

    def make(**overrides):
        raw = {"input": str(inp), "output": str(tmp_path / "out"), "stages": [{"exact_dedup": {}}],
               "tokenizer": {"vocab_size": 300}, "shards": {"validation": 0.1, "shard_tokens": 1500}}
        raw.update(overrides)
        return parse_pipeline(raw)

    return make, tmp_path / "out"


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_pipeline_ends_with_a_shard_directory(pipeline, fmt):
    make, out = pipeline
    cfg = make(format=fmt)
    logs = []
    run_pipeline(cfg, workers=1, quiet=True, log=logs.append)
    m = json.loads((out / "shards" / "manifest.json").read_text())
    assert m["pipeline_config_sha256"] == cfg.fingerprint()
    assert (out / "tokenizer.json").read_bytes() == (out / "shards" / "tokenizer.json").read_bytes()
    assert m["n_documents"] == json.loads((out / "stats.json").read_text())["documents_out"]
    assert any(line.startswith("tokenizer: trained") for line in logs)
    assert any(line.startswith("shards: train") for line in logs)
    run_pipeline(cfg, workers=1, quiet=True, log=logs.append)
    assert logs[-2:] == [f"tokenizer: {out / 'tokenizer.json'} is up to date, skipped",
                         f"shards: {out / 'shards'} is up to date, skipped"]


def test_one_and_two_workers_give_identical_bytes(pipeline):
    make, out = pipeline
    run_pipeline(make(), workers=1, quiet=True)
    first = {p.relative_to(out): p.read_bytes() for p in (out / "shards").rglob("*") if p.is_file()}
    run_pipeline(make(), workers=2, force=True, quiet=True)
    second = {p.relative_to(out): p.read_bytes() for p in (out / "shards").rglob("*") if p.is_file()}
    assert first == second and len(first) > 3


def test_bad_sections_are_refused_with_the_key():
    with pytest.raises(ValueError, match="shards: needs a 'tokenizer:' section"):
        check_post_config(None, {})
    with pytest.raises(ValueError, match="tokenizer: unknown key.*vocab"):
        check_post_config({"vocab": 100}, None)
    with pytest.raises(ValueError, match="shards: validation"):
        check_post_config({}, {"validation": 1.5})
    with pytest.raises(ValueError, match="tokenizer: file: not found"):
        check_post_config({"file": "/nonexistent/tokenizer.json"}, {})


def test_default_pipeline_configures_both_steps():
    import yaml
    from pathlib import Path

    raw = yaml.safe_load((Path(__file__).parents[2] / "pipelines" / "default.yaml").read_text())
    tcfg, scfg = check_post_config(raw["tokenizer"], raw["shards"])
    assert tcfg.vocab_size == 8192 and scfg.validation == 0.05


def test_a_file_that_is_not_a_tokenizer_is_named(tmp_path):
    from corpuskit.errors import CorpuskitError
    from corpuskit.tokenize.bpe import load_tokenizer

    bad = tmp_path / "some.csv"
    bad.write_text("id,text\n1,hello\n")
    with pytest.raises(CorpuskitError, match="some.csv: not a Hugging Face tokenizer.json"):
        load_tokenizer(bad)
    with pytest.raises(CorpuskitError, match="tokenizer file not found: .*missing.json"):
        load_tokenizer(tmp_path / "missing.json")
