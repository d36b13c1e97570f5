"""Pipeline YAML validation: every mistake names the file and the key."""

import pytest

from corpuskit.pipeline import PipelineError, load_pipeline


def _write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_default_pipeline_loads(repo, monkeypatch):
    monkeypatch.chdir(repo)
    cfg = load_pipeline("pipelines/default.yaml")
    assert cfg.input == "corpus/" and cfg.output == "data/"
    assert [s.type for s in cfg.stages][:1] and cfg.reader.glob == "*.txt.gz"


@pytest.mark.parametrize("body, message", [
    ("input: {d}\nstages:\n  - no_such_stage: {{}}\n", "stages[0].no_such_stage: unknown stage 'no_such_stage'"),
    ("input: {d}\nstages:\n  - length_filter: {{min_wrds: 3}}\n", "unknown parameter 'min_wrds'"),
    ("input: {d}\nstages:\n  - length_filter: {{min_words: ten}}\n", "parameter 'min_words': expected int, got 'ten'"),
    ("input: {d}/missing\nstages: []\n", "input: path not found"),
    ("stages: []\n", "missing key 'input'"),
    ("input: {d}\nstagse: []\n", "unknown key 'stagse'"),
    ("input: {d}\nreader: {{text_mode: lines}}\n", "reader: text_mode must be one of file, paragraphs"),
    ("input: {d}\nreader: {{colour: red}}\n", "reader: "),
    ("input: {d}\nformat: csv\n", "format: must be one of parquet, jsonl"),
    ("input: {d}\nstages:\n  - normalize: {{}}\n  - normalize: {{}}\n", "stage name 'normalize' is used twice"),
    # the reader's row in stats.json: the stage's counts replaced the reader's in the summary
    ("input: {d}\nstages:\n  - length_filter: {{name: read}}\n", "stage name 'read' is the reader's"),
    ("input: {d}\noutput: ''\nstages: []\n", "output: must not be empty"),
    ("input: {d}\nstages: [\n", "invalid YAML"),
    ("input: {d}\ntokenizer: {{vocab_sise: 100}}\n", "vocab_sise"),
    ("input: {d}\nshards: {{validation: 0.1}}\n", "shards: needs a 'tokenizer:' section"),
])
def test_invalid_pipelines_name_file_and_key(tmp_path, body, message):
    p = _write(tmp_path, body.format(d=tmp_path))
    with pytest.raises(PipelineError) as err:
        load_pipeline(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_yaml_is_loaded_safely(tmp_path):
    p = _write(tmp_path, "input: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(PipelineError, match="invalid YAML"):
        load_pipeline(p)


def test_overrides_and_renamed_stages(tmp_path):
    p = _write(tmp_path, f"input: {tmp_path}\nstages:\n  - length_filter: {{name: short, min_words: 2}}\n"
                         "  - length_filter: {name: long, max_chars: 10}\n")
    cfg = load_pipeline(p, {"output": str(tmp_path / "o"), "format": None})
    assert [s.name for s in cfg.stages] == ["short", "long"]
    assert cfg.output == str(tmp_path / "o") and cfg.format == "parquet"


def test_fingerprint_changes_with_parameters_only(tmp_path):
    a = load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages: [{{length_filter: {{min_words: 2}}}}]\n"))
    b = load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages: [{{length_filter: {{min_words: 2}}}}]\n"))
    c = load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages: [{{length_filter: {{min_words: 3}}}}]\n"))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_fingerprint_ignores_the_output_folder(tmp_path):
    p = _write(tmp_path, f"input: {tmp_path}\nstages: []\n")
    assert load_pipeline(p, {"output": "a"}).fingerprint() == load_pipeline(p, {"output": "b"}).fingerprint()


def test_stage_parameters_are_checked_against_their_annotations(tmp_path):
    """One schema per parameter: the annotation decides, not the default."""
    cfg = load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages:\n"
                                          "  - length_filter: {max_chars: null}\n"  # int | None: null switches it off
                                          "  - language_filter: {min_score: 5e-1, languages: [en, fr]}\n"
                                          "  - gopher_repetition: {top_n_grams: [[2, 0.25]]}\n"))
    params = [s.params for s in cfg.stages]
    assert params[0] == {"max_chars": None}
    assert params[1] == {"min_score": 0.5, "languages": ("en", "fr")}  # YAML reads 5e-1 as a string
    assert params[2] == {"top_n_grams": ((2, 0.25),)}
    for stage, value, message in [("length_filter", "{min_words: null}", "'min_words': expected int, got None"),
                                  ("language_filter", "{languages: en}", "'languages': expected a list"),
                                  ("gopher_repetition", "{top_n_grams: [[2]]}", "expected 2 values"),
                                  ("length_filter", "{min_words: true}", "'min_words': expected int, got True")]:
        with pytest.raises(PipelineError, match=message):
            load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages:\n  - {stage}: {value}\n"))


def test_numbers_read_the_same_in_every_section(tmp_path):
    cfg = load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages: []\n"
                                          "tokenizer: {vocab_size: 300}\nshards: {validation: 5e-2}\n"))
    assert cfg.shards.validation == 0.05 and cfg.tokenizer.vocab_size == 300
    assert cfg.to_dict()["shards"] == {"validation": 0.05}  # serialized as written, so fingerprints stay put
    with pytest.raises(PipelineError, match="reader.target_chars: expected int"):
        load_pipeline(_write(tmp_path, f"input: {tmp_path}\nstages: []\nreader: {{target_chars: many}}\n"))
