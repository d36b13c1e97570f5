"""Pipelines in YAML: validated into a `PipelineConfig` with errors that name the file and key.

```yaml
input: corpus/                 # file, folder, URL (s3://bucket/prefix/, via fsspec), or hf:NAME
output: data/                  # everything a run writes goes under here
format: parquet                # or jsonl
unit_bytes: 16777216           # large JSONL/Parquet inputs are cut into units of about this size
reader: {text_mode: paragraphs, target_chars: 2000}
stages:
  - normalize: {}
  - length_filter: {min_words: 5}
  - exact_dedup: {}
```

Each stage entry is a one-key mapping from a registered stage name (or
`package.module:Class`) to its parameters; an optional `name` parameter renames it.
Later sections (`tokenizer`, `shards`) configure the steps after the stages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpuskit.errors import ConfigError
from corpuskit.io import is_url
from corpuskit.layout import STAGE_NAME
from corpuskit.readers import READ_STAGE, ReaderConfig
from corpuskit.schema import coerce, field_default, from_mapping, given_dict
from corpuskit.stages.registry import StageConfigError, build_stage, check_params
from corpuskit.tokenize.config import ShardConfig, TokenizerConfig
from corpuskit.writers.documents import FORMATS


MIN_UNIT_BYTES = 4096  # smaller units cost more in per-unit files than they gain


class PipelineError(ConfigError):
    """A pipeline file is invalid; the message names the file and the key."""


@dataclass
class StageSpec:
    type: str  # registry name or package.module:Class
    name: str  # unique within the pipeline; used in stats and rejected records
    params: dict = field(default_factory=dict)
    # Stage.content_key of the built stage (the files it reads, hashed), set by the runner: a
    # rerun after an eval file or model changed in place redoes the stage
    content: str | None = None

    def build(self):
        return build_stage(self.type, dict(self.params), name=self.name)


@dataclass
class PipelineConfig:
    input: str  # file, folder, or hf:NAME
    output: str = "data"  # run directory
    format: str = "parquet"  # output document format: parquet or jsonl
    # A JSON Lines or Parquet file (or saved dataset) larger than this is cut into units of
    # about this size (readers/units.py). 16 MB: a 2-core machine keeps both workers busy
    # to the end of a 200 MB file; per unit a worker holds one output batch, not the unit.
    unit_bytes: int = 16 << 20
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    stages: list[StageSpec] = field(default_factory=list)
    # Steps after the document stages, or None to skip them.
    tokenizer: TokenizerConfig | None = None
    shards: ShardConfig | None = None

    def to_dict(self) -> dict:
        """Plain data (for config.json and workers); the sections as the user wrote them, so a
        new option with a default does not change the fingerprint of existing pipelines."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.unit_bytes == field_default(PipelineConfig, "unit_bytes"):
            del d["unit_bytes"]  # as before the option existed; the units themselves are in config.json
        d["reader"] = given_dict(self.reader)
        # `content` only where a stage has one: records of runs from before it stay comparable
        d["stages"] = [{k: v for k, v in dataclasses.asdict(s).items() if k != "content" or v is not None}
                       for s in self.stages]
        for section in ("tokenizer", "shards"):
            d[section] = given_dict(d[section]) if d[section] is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineConfig":
        d = dict(d)
        d["reader"] = ReaderConfig(**d.get("reader", {}))
        d["stages"] = [StageSpec(**s) for s in d.get("stages", [])]
        for section, kind in (("tokenizer", TokenizerConfig), ("shards", ShardConfig)):
            if d.get(section) is not None:
                d[section] = from_mapping(kind, d[section], section)
        return cls(**d)

    def fingerprint(self) -> str:
        """A hash of everything that decides the output bytes (not where they go, not workers)."""
        return _digest(self.to_dict(), ("output",))


# The sections read by the steps after the stages: they check their own settings (tokenize/steps.py).
POST_SECTIONS = ("tokenizer", "shards")


def documents_fingerprint(config: Any) -> str | None:
    """A hash of what decides the kept and rejected documents: a recorded config (`to_dict()`, as
    config.json holds it) without its output and the `tokenizer:` / `shards:` sections, so that a
    run whose only change is there keeps its documents. None for a record that is not a mapping."""
    if not isinstance(config, dict):
        return None
    return _digest(config, ("output",) + POST_SECTIONS)


def first_changed_stage(old: Any, new: dict) -> int | None:
    """Where a rerun with config `new` (`to_dict()`) may take over the run that recorded `old`:
    the index of the first stage that differs (len(stages) when only stages were removed at
    the end), so the passes before that stage's pass are kept. None when more than the stage
    list differs (reader, format, units of input...: the documents change from the start) or
    when a stage from there on writes a persistent index (its batches name their documents)."""
    if not isinstance(old, dict) or _digest(old, ("output", "stages") + POST_SECTIONS) != _digest(
            new, ("output", "stages") + POST_SECTIONS):
        return None
    before, after = old.get("stages"), new.get("stages") or []
    if not isinstance(before, list):
        return None
    j = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    if any(isinstance(s, dict) and isinstance(s.get("params"), dict) and s["params"].get("index_dir")
           for s in before[j:] + after[j:]):
        return None
    return j


def _digest(config: dict, leave_out: tuple[str, ...]) -> str:
    decisive = {k: v for k, v in config.items() if k not in leave_out}
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()


def parse_stages(entries: Any, where: str) -> list[StageSpec]:
    if not isinstance(entries, list):
        raise PipelineError(f"{where}: 'stages' must be a list")
    specs: list[StageSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        key = f"{where}: stages[{i}]"
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            raise PipelineError(f"{key}: each stage is a one-key mapping like '- normalize: {{}}'")
        (type_name, params), = entry.items()
        if params is not None and not isinstance(params, dict):
            raise PipelineError(f"{key}.{type_name}: parameters must be a mapping")
        params = dict(params or {})
        name = str(params.pop("name", type_name.rpartition(":")[2]))
        try:
            params = check_params(type_name, params)
            build_stage(type_name, params)  # the stage's own range checks, now rather than mid-run
        except StageConfigError as err:
            raise PipelineError(f"{key}.{type_name}: {err}") from None
        if not STAGE_NAME.fullmatch(name):  # it names the stage's folder and report in the run folder
            raise PipelineError(f"{key}.{type_name}: stage name {name!r} must be letters, digits, '_', '-' and '.' "
                                "(not starting with '.' or '-')")
        if name == READ_STAGE:  # the reader's row in stats.json: the two counts would merge into one
            raise PipelineError(f"{key}.{type_name}: stage name {name!r} is the reader's; choose another")
        if name in seen:
            raise PipelineError(f"{key}.{type_name}: stage name {name!r} is used twice; add 'name: ...'")
        seen.add(name)
        specs.append(StageSpec(type=type_name, name=name, params=params))
    return specs


def check_sections(tokenizer: dict | None, shards: dict | None) -> tuple[TokenizerConfig | None, ShardConfig | None]:
    """The `tokenizer:` and `shards:` sections, validated now rather than after an hour of stages."""
    tcfg = from_mapping(TokenizerConfig, tokenizer, "tokenizer") if tokenizer is not None else None
    scfg = from_mapping(ShardConfig, shards, "shards") if shards is not None else None
    if scfg is not None and tcfg is None:
        raise ConfigError("shards: needs a 'tokenizer:' section (vocab_size to train one, or file: an existing tokenizer.json)")
    if tcfg is not None and tcfg.file and not Path(tcfg.file).is_file():
        raise ConfigError(f"tokenizer: file: not found: {tcfg.file}")
    return tcfg, scfg


def parse_pipeline(raw: Any, where: str = "<pipeline>", overrides: dict | None = None) -> PipelineConfig:
    """Validate a loaded YAML mapping into a PipelineConfig; `overrides` are CLI options."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: a pipeline is a mapping with at least 'input' and 'stages'")
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if isinstance(overrides.get("reader"), dict) and isinstance(raw.get("reader"), dict):
        overrides["reader"] = {**raw["reader"], **overrides["reader"]}  # --glob: one setting, not the section
    raw = {**raw, **overrides}
    known = {f.name for f in dataclasses.fields(PipelineConfig)} | {"name", "description"}
    for key in raw:
        if key not in known:
            raise PipelineError(f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(known))})")
    if "input" not in raw:
        raise PipelineError(f"{where}: missing key 'input' (a file, folder or hf:NAME)")
    inp = str(raw["input"])
    for key in ("input", "output"):  # an empty path is the current directory: read or written by accident
        if key in raw and not str(raw[key]).strip():
            raise PipelineError(f"{where}: {key}: must not be empty")
    if is_url(inp):
        _check_url(inp, where)
    elif not inp.startswith("hf:") and not Path(inp).exists():
        raise PipelineError(f"{where}: input: path not found: {inp}")
    if is_url(str(raw.get("output", ""))):
        _check_url(str(raw["output"]), where, "output")
    fmt = raw.get("format", "parquet")
    if fmt not in FORMATS:
        raise PipelineError(f"{where}: format: must be one of {', '.join(FORMATS)}; got {fmt!r}")
    try:
        unit_bytes = coerce("unit_bytes", raw.get("unit_bytes", field_default(PipelineConfig, "unit_bytes")), int)
        if unit_bytes < MIN_UNIT_BYTES:
            raise ConfigError(f"unit_bytes: must be at least {MIN_UNIT_BYTES} (bytes of input per unit of work); "
                              f"got {unit_bytes}")
        reader = from_mapping(ReaderConfig, raw.get("reader"), "reader")
        tokenizer, shards = check_sections(raw.get("tokenizer"), raw.get("shards"))
    except ConfigError as err:
        raise PipelineError(f"{where}: {err}") from None
    return PipelineConfig(
        input=inp,
        output=str(raw.get("output", "data")),
        format=fmt,
        unit_bytes=unit_bytes,
        reader=reader,
        stages=parse_stages(raw.get("stages", []), where),
        tokenizer=tokenizer,
        shards=shards,
    )


def _check_url(url: str, where: str, key: str = "input") -> None:
    """A remote input must be reachable now, not an hour into the run; a remote output's bucket
    (the URL's first component) must exist."""
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
        target = path if key == "input" else path.strip("/").split("/", 1)[0]
        if key == "output" and url.split("://", 1)[0] not in ("s3", "s3a", "gs", "gcs", "az", "abfs"):
            return  # no bucket to look for (memory://, ...)
        found = fs.exists(target) if target else False
    except ImportError as err:
        raise PipelineError(f"{where}: {key}: {url}: using it needs {err.name or err} "
                            "(pip install 'corpuskit[remote]')") from None
    except (OSError, ValueError) as err:
        raise PipelineError(f"{where}: {key}: {url}: cannot reach it ({err})") from None
    if not found:
        raise PipelineError(f"{where}: {key}: not found: {url if key == 'input' else target}")


def read_yaml(path: str | Path, what: str = "pipeline file") -> Any:
    """A YAML file's content (safe_load only); PipelineError naming the file when it is missing or invalid."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{what} not found: {path}") from None
    except UnicodeDecodeError as err:
        raise PipelineError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        raise PipelineError(f"{path}: invalid YAML: {err}") from None


def load_pipeline(path: str | Path, overrides: dict | None = None) -> PipelineConfig:
    """Load and validate a pipeline YAML file. Relative paths in the file are relative to the
    file's folder (`relative_to_file`); those in `overrides` (the command line) to the working directory."""
    return parse_pipeline(relative_to_file(read_yaml(path), Path(path).parent), str(path), overrides)


# Stage parameters that name a file or folder: these names, and any ending in _path, _file or _dir.
PATH_PARAMS = ("model", "wordlist", "index_dir", "file", "path")


def relative_to_file(raw: Any, folder: Path) -> Any:
    """`raw` (a loaded pipeline mapping) with its relative paths joined to `folder`, the pipeline
    file's folder: input, output, tokenizer.file and the stage parameters of PATH_PARAMS, so that
    `corpuskit run other/dir/pipeline.yaml` finds the files beside the pipeline whatever the working
    directory. Absolute paths, URLs, hf:NAME and empty values are left as they are; a malformed
    entry is left for parse_pipeline to report."""
    if not isinstance(raw, dict):
        return raw
    raw = dict(raw)
    for key in ("input", "output"):
        if key in raw:
            raw[key] = _join(folder, raw[key])
    if isinstance(raw.get("tokenizer"), dict) and "file" in raw["tokenizer"]:
        raw["tokenizer"] = {**raw["tokenizer"], "file": _join(folder, raw["tokenizer"]["file"])}
    if isinstance(raw.get("stages"), list):
        raw["stages"] = [_stage_paths(entry, folder) for entry in raw["stages"]]
    return raw


def _stage_paths(entry: Any, folder: Path) -> Any:
    if not (isinstance(entry, dict) and len(entry) == 1):
        return entry
    (type_name, params), = entry.items()
    if not isinstance(params, dict):
        return entry
    return {type_name: {k: _join(folder, v) if _is_path_param(k) else v for k, v in params.items()}}


def _is_path_param(name: Any) -> bool:
    return isinstance(name, str) and (name in PATH_PARAMS or name.endswith(("_path", "_file", "_dir")))


def _join(folder: Path, value: Any) -> Any:
    """`folder/value` for a relative path (a list: each), normalized, a trailing '/' kept."""
    if isinstance(value, list):
        return [_join(folder, v) for v in value]
    if not isinstance(value, str) or not value.strip() or value.startswith("hf:") or is_url(value):
        return value
    if Path(value).is_absolute() or str(folder) in ("", "."):
        return value
    joined = os.path.normpath(os.path.join(folder, value))
    return joined + "/" if value.endswith("/") and not joined.endswith("/") else joined
