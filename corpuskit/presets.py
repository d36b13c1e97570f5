"""The pipelines behind the one-step commands (`corpuskit clean`, `corpuskit dedup`).

Their stages live in `pipelines/<name>.yaml`, next to `pipelines/default.yaml`, so there is
no Python copy of a YAML list: a user reads, copies and tunes the same file the command runs.
A command adds what it was given on the command line (input, output, format, a `--config`
file, stage parameters from options) and gets back a validated `PipelineConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from corpuskit.pipeline import PipelineConfig, PipelineError, parse_pipeline, read_yaml, relative_to_file

_PACKAGE = Path(__file__).resolve().parent


def pipelines_dir() -> Path:
    """The folder holding the pipeline YAML files.

    A wheel carries `pipelines/` inside the package as `corpuskit/pipelines/` (setup.py maps
    it there, so the files exist once, at the top of the repository); a source checkout or an
    editable install reads the repository's own `pipelines/`.
    """
    installed = _PACKAGE / "pipelines"
    return installed if installed.is_dir() else _PACKAGE.parent / "pipelines"


def read_yaml_mapping(path: str | Path) -> dict:
    """A YAML file that must hold a mapping (an empty file is an empty mapping); PipelineError otherwise."""
    raw = read_yaml(path, "file")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: expected a mapping with 'stages' and/or 'reader'")
    return raw


def preset_stages(name: str) -> list:
    """The stage entries of `pipelines/<name>.yaml`, as YAML holds them."""
    return read_yaml_mapping(pipelines_dir() / f"{name}.yaml").get("stages", [])


def clean_preset(input: str) -> str:
    """Which cleaning list `corpuskit clean INPUT` runs: "web" or "clean" (books).

    The rule: record files (JSONL, Parquet, CSV, a Hugging Face dataset) hold crawled or
    exported pages, one line a paragraph, and get `pipelines/web.yaml`, the published
    thresholds. Plain-text files (.txt, .md, optionally compressed) are read as books in
    paragraph groups, hard-wrapped, and get `pipelines/clean.yaml`, the list that
    `pipelines/default.yaml` opens with (relaxed line rules; docs/CLEANING.md).
    A folder holding any record file counts as web.
    """
    return clean_preset_reason(input)[0]


RECORD_KINDS = ("jsonl", "parquet", "csv", "hf_disk", "hf_hub")  # sources read as web pages by `clean`


def clean_preset_reason(input: str) -> tuple[str, str]:
    """(preset, why): `clean_preset`'s choice and the one-line reason `corpuskit clean` prints."""
    from corpuskit.readers import list_sources

    sources = list_sources(input)
    records = sorted({src.kind for src in sources} & set(RECORD_KINDS))
    if records:
        first = next(src.rel for src in sources if src.kind in records)
        return "web", (f"record files ({', '.join(records)}, e.g. {first}) are read as web pages; "
                       "--config FILE for other stages")
    return "clean", "text files are read as books, in paragraph groups; --config FILE for other stages"


def command_pipeline(input: str, output: str, stages: list, fmt: str | None = None,
                     reader: dict | None = None, where: str = "<command line>") -> PipelineConfig:
    """A validated pipeline that runs `stages` over `input` into `output` (format `fmt`, default parquet)."""
    raw: dict[str, Any] = {"input": input, "output": output, "stages": stages}
    if reader is not None:
        raw["reader"] = reader
    return parse_pipeline(raw, where, {"format": fmt})


def preset_pipeline(name: str, input: str, output: str, fmt: str | None = None, config_file: str | None = None,
                    stage_params: dict[str, dict] | None = None, skip: Iterable[str] = ()) -> PipelineConfig:
    """The pipeline of `pipelines/<name>.yaml` over `input` into `output`.

    `config_file`: a YAML mapping whose `stages` and `reader` replace the preset's.
    `skip`: stage types to leave out. `stage_params`: per stage type, parameters that
    override the file's; a value of None is an option that was not given and changes nothing.
    Bad YAML, a non-mapping file and invalid stages are PipelineErrors naming the file.
    """
    where = str(pipelines_dir() / f"{name}.yaml")
    raw = read_yaml_mapping(where)
    if config_file:
        where = str(config_file)
        given = relative_to_file(read_yaml_mapping(config_file), Path(config_file).parent)  # paths: from its folder
        raw.update({k: v for k, v in given.items() if k in ("stages", "reader")})
    stages = raw.get("stages", [])
    if not isinstance(stages, list):
        raise PipelineError(f"{where}: 'stages' must be a list")
    skip = set(skip)
    stages = [entry for entry in stages if _stage_type(entry) not in skip]
    for type_name, params in (stage_params or {}).items():
        given = {k: v for k, v in params.items() if v is not None}
        if given:
            stages = _override(stages, type_name, given, where)
    return command_pipeline(input, output, stages, fmt, raw.get("reader"), where)


def _stage_type(entry: Any) -> Any:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        return next(iter(entry))
    return None  # malformed: left for parse_pipeline to report with its position


def _override(stages: list, type_name: str, params: dict, where: str) -> list:
    if not any(_stage_type(e) == type_name for e in stages):
        raise PipelineError(f"{where}: no {type_name!r} stage for the options {', '.join(params)}")
    out = []
    for entry in stages:
        if _stage_type(entry) == type_name:
            current = {} if isinstance(entry, str) else dict(entry[type_name] or {})
            entry = {type_name: {**current, **params}}
        out.append(entry)
    return out
