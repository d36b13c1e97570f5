"""Every stage parameter is checked when the pipeline is loaded (#33 item 18 and its sweep).

For every registered stage and every numeric, string or list parameter, a set of nonsense
values (-1, 0, 1e18, NaN, infinity, an int past 64 bits, an empty string, ...) is either
refused at load with a one-line error naming the stage and the parameter, or, if accepted,
runs on a few documents without an exception. Ranges that contradict each other (min > max,
more stop words required than listed) are refused at load naming both parameters.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated

import pytest

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.pipeline import PipelineError, load_pipeline, parse_pipeline
from corpuskit.schema import signature_types
from corpuskit.stage import GlobalStage
from corpuskit.stages.registry import REGISTRY, stage_class

TEXT = ("The cat sat on the mat. It was a good day to be a cat, and the sun was warm.\n"
        "Home | About | Contact\nWe use cookies. [1] The end of the story is near, and that is fine.\n")
NUMBERS = [-1, 0, 1, 2.0, -0.5, 10**18, 1e18, 10**30, float("nan"), float("inf"), float("-inf")]
NONFINITE = [float("nan"), float("inf"), 10**30]  # refused for every parameter, whatever its range
LISTS = [[], [""], [[0, 0.5]], [[-1, 0.5]], [[2, float("nan")]], [[10**9, 0.1]], [[2, 1.5]]]


def _base(annotation):
    """The type under Annotated and `| None`: what kind of values to try."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [o for o in typing.get_args(annotation) if o is not type(None)]
        return _base(options[0]) if len(options) == 1 else annotation
    return annotation


def _values(annotation) -> list:
    base = _base(annotation)
    if base in (int, float):
        return NUMBERS
    if base is str:
        return ["", " ", "x"]
    if typing.get_origin(base) in (tuple, list):
        return LISTS
    return []


def _cases(stage_types):
    for type_name in stage_types:
        for param, p in signature_types(stage_class(type_name)).items():
            for value in _values(p.annotation):
                yield pytest.param(type_name, param, value, id=f"{type_name}.{param}={value!r}")


# Global stages (dedup) and stages with a working folder (decontamination) need one and are run
# by their own tests; their parameters still get the generic refusals below.
SWEPT = sorted(t for t in REGISTRY if not issubclass(stage_class(t), GlobalStage) and not stage_class(t).uses_workdir)


@pytest.fixture(scope="module")
def input_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("in") / "in.txt"
    path.write_text(TEXT)
    (path.parent / "evals.jsonl").write_text('{"text": "What is the capital of France? Paris is."}\n')
    return str(path)


def _required(input_file: str, stage: str) -> dict:
    """Values for the parameters a stage has no default for."""
    return {"eval": [str(Path(input_file).parent / "evals.jsonl")]} if stage == "decontaminate" else {}


def _load(input_file: str, stage: str, params: dict):
    params = {**_required(input_file, stage), **params}
    return parse_pipeline({"input": input_file, "stages": [{stage: params}]}, "p.yaml")


@pytest.mark.parametrize("stage, param, value", list(_cases(SWEPT)))
def test_a_parameter_is_refused_at_load_or_runs(input_file, stage, param, value):
    try:
        config = _load(input_file, stage, {param: value})
    except CorpuskitError as err:
        message = str(err)
        assert "\n" not in message
        assert f"stages[0].{stage}" in message and param in message, message
        return
    built = config.stages[0].build()
    assert not isinstance(built, GlobalStage)
    docs = [Document(text=TEXT * k, id=f"d{k}") for k in (1, 3, 10)]
    kept = list(built(docs))  # no exception: what loads, runs
    assert len(kept) + built.stats.dropped == 3  # each document kept or dropped with a reason


@pytest.mark.parametrize("stage, param, value", [
    pytest.param(t, n, v, id=f"{t}.{n}={v!r}") for t in sorted(REGISTRY)
    for n, p in signature_types(stage_class(t)).items() if _base(p.annotation) in (int, float)
    for v in NONFINITE if not (_base(p.annotation) is float and isinstance(v, int))])  # 1e30 is a float
def test_nan_infinity_and_huge_ints_are_refused_for_every_stage(input_file, stage, param, value):
    with pytest.raises(PipelineError) as err:
        _load(input_file, stage, {param: value})
    assert f"stages[0].{stage}" in str(err.value) and param in str(err.value)


@pytest.mark.parametrize("stage, params, names", [
    ("length_filter", {"min_chars": 100, "max_chars": 10}, ("min_chars", "max_chars")),
    ("length_filter", {"max_chars": 0}, ("min_chars", "max_chars")),  # the default min_chars is 1
    ("gopher_quality", {"min_words": 500, "max_words": 100}, ("min_words", "max_words")),
    ("gopher_quality", {"min_mean_word_length": 8, "max_mean_word_length": 4},
     ("min_mean_word_length", "max_mean_word_length")),
    ("gopher_quality", {"min_stop_words": 3, "stop_words": ["the", "and"]}, ("min_stop_words", "stop_words")),
    ("gopher_quality", {"stop_words": []}, ("min_stop_words", "stop_words")),
])
def test_contradicting_parameters_are_refused_naming_both(input_file, stage, params, names):
    with pytest.raises(PipelineError) as err:
        _load(input_file, stage, params)
    message = str(err.value)
    assert f"stages[0].{stage}" in message and all(n in message for n in names), message


@pytest.mark.parametrize("stage, params, message", [
    # each of these used to load, then drop every document or raise mid-run
    ("length_filter", {"max_chars": -1}, "parameter 'max_chars': must be >= 0; got -1"),
    ("c4_quality", {"max_word_length": -1}, "parameter 'max_word_length': must be in [0, 1_000_000_000]"),
    ("c4_quality", {"max_word_length": 10**18}, "parameter 'max_word_length': must be in [0, 1_000_000_000]"),
    ("gopher_repetition", {"top_n_grams": [[0, 0.2]]}, "parameter 'top_n_grams'[0][0]: must be in [1, 32]"),
    ("gopher_repetition", {"dup_n_grams": [[5, 1.5]]}, "parameter 'dup_n_grams'[0][1]: must be in [0, 1]"),
    ("boilerplate", {"policy_phrases": ["cookies", ""]}, "parameter 'policy_phrases'[1]: must not be empty"),
    ("boilerplate", {"policy_phrases": [" "]}, "parameter 'policy_phrases'[0]: must not be empty; got ' '"),
    ("boilerplate", {"nav_min_run": 1}, "parameter 'nav_min_run': must be >= 2"),
    ("language_filter", {"languages": [""]}, "parameter 'languages'[0]: must not be empty"),
    ("language_filter", {"max_chars": 0}, "parameter 'max_chars': must be >= 1"),
    ("language_filter", {"languages": ["en", "eng"]}, "languages: 'eng' not among the ISO 639-1 codes"),
    ("fineweb_quality", {"line_punct_thr": 1.5}, "parameter 'line_punct_thr': must be in [0, 1]; got 1.5"),
    ("fineweb_quality", {"short_line_thr": ".nan"}, "parameter 'short_line_thr': expected float"),
    ("gopher_quality", {"min_alpha_words_ratio": float("nan")},
     "parameter 'min_alpha_words_ratio': must be a finite number; got nan"),
    ("emoji", {"mode": "strip"}, "parameter 'mode': must be one of 'keep', 'demojize', 'remove'"),
    ("repair", {"unicode": "NFD"}, "parameter 'unicode': must be one of 'NFC', 'NFKC', 'none'"),
])
def test_values_that_used_to_fail_at_run_time_are_refused_at_load(input_file, stage, params, message):
    with pytest.raises(PipelineError) as err:
        _load(input_file, stage, params)
    assert f"p.yaml: stages[0].{stage}: stage '{stage}': {message}" in str(err.value)


def test_the_length_filter_range_error_is_one_line_from_a_yaml_file(tmp_path, input_file):
    """#33 item 18 as reported: the pipeline file loads, then every document is dropped."""
    path = tmp_path / "p.yaml"
    path.write_text(f"input: {input_file}\nstages:\n  - length_filter: {{min_chars: 100, max_chars: 10}}\n")
    with pytest.raises(PipelineError) as err:
        load_pipeline(path)
    assert str(err.value) == (f"{path}: stages[0].length_filter: stage 'length_filter': "
                              "min_chars (100) is greater than max_chars (10): nothing could pass both")


@pytest.mark.parametrize("section, message", [
    ({"tokenizer": {"vocab_size": 10**18}}, "tokenizer.vocab_size: must be in [260, 4_294_967_296]"),
    ({"tokenizer": {"min_frequency": 0}}, "tokenizer.min_frequency: must be >= 1; got 0"),
    ({"tokenizer": {"file": ""}}, "tokenizer.file: must not be empty"),
    ({"tokenizer": {"eot_token": ""}}, "tokenizer.eot_token: must not be empty"),
    ({"tokenizer": {}, "shards": {"validation": float("nan")}}, "shards.validation: must be a finite number"),
    ({"tokenizer": {}, "shards": {"batch_rows": 0}}, "shards.batch_rows: must be >= 1; got 0"),
    ({"tokenizer": {}, "shards": {"shard_tokens": 10**30}}, "shards.shard_tokens: "),
    ({"output": ""}, "output: must not be empty"),
    ({"output": "  "}, "output: must not be empty"),
    ({"input": ""}, "input: must not be empty"),  # Path("") is the current directory
    ({"reader": {"text_field": ""}}, "reader: text_field must not be empty"),  # every record rejected
    ({"reader": {"id_field": " "}}, "reader: id_field must not be empty"),
    ({"reader": {"hf_split": ""}}, "reader: hf_split must not be empty"),
])
def test_sections_are_checked_at_load(input_file, section, message):
    with pytest.raises(PipelineError) as err:
        parse_pipeline({"input": input_file, **section}, "p.yaml")
    assert message in str(err.value)


def test_sections_built_in_python_obey_the_same_rules():
    """`check_fields` in `__post_init__`: a config made in code is held to the YAML rules."""
    from corpuskit.tokenize.config import ShardConfig, TokenizerConfig

    with pytest.raises(ValueError, match="vocab_size: must be in"):
        TokenizerConfig(vocab_size=100)
    with pytest.raises(ValueError, match="batch_rows: must be >= 1"):
        ShardConfig(batch_rows=0)


def test_the_shipped_pipelines_still_load(input_file):
    """The declared ranges hold every default and every setting the project ships."""
    import yaml

    for path in sorted((Path(__file__).parents[1] / "pipelines").glob("*.yaml")):
        parse_pipeline({**yaml.safe_load(path.read_text()), "input": input_file}, str(path))
    for type_name in sorted(REGISTRY):
        _load(input_file, type_name, {})  # every default is inside its own range


@pytest.mark.parametrize("args, message", [
    # a fork pool starts every worker at once: this used to fork until the machine stopped
    (["clean", "{in}", "{out}", "--workers", "100000000"], "is not in the range 1<=x<=1024"),
    (["dedup", "{in}", "{out}", "--workers", str(10**26)], "is not in the range 1<=x<=1024"),  # was OverflowError
    (["dedup", "{in}", "{out}", "--threshold", "nan"], "parameter 'threshold': must be a finite number; got nan"),
    (["dedup", "{in}", "{out}", "--num-perm", str(10**26)], "parameter 'num_perm': "),
    (["toxicity", "filter", "{in}", "{out}", "--doc-threshold", "nan"], "parameter 'doc_threshold': must be a finite"),
])
def test_nonsense_numbers_on_the_command_line_are_one_line_errors(input_file, tmp_path, args, message):
    from click.testing import CliRunner

    from corpuskit.cli import cli

    args = [a.format(**{"in": input_file, "out": str(tmp_path / "out")}) for a in args]
    result = CliRunner().invoke(cli, args + ["-q"])
    assert result.exit_code in (1, 2) and isinstance(result.exception, SystemExit), result.exception
    error = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and message in error[0], result.output
    assert not (tmp_path / "out").exists()  # refused before any work
