"""Evaluation sets read from the files a user already has, as items made of text pieces.

An entry is `PATH` or `NAME=PATH`. PATH is a file or a folder (every eval file in it, and
every Hugging Face dataset folder written by `save_to_disk`). A file is JSON Lines or JSON
(one row per item), Parquet, or plain text (one item per blank-line-separated block); .gz
and .zst are read too. The benchmark's name is the file's name without its suffixes
(`arc_easy.jsonl.gz` -> `arc_easy`), or NAME for everything under PATH.

A row's pieces are, by default, every string value and every string inside a list value,
in the row's key order, and `fields` picks keys instead. llm-foundry's rows are read in the
order the task shows them: `context`, `continuation`; `query`, its gold choice, then the
other choices; the gold `context_options` entry, `continuation`, then the other options.

Everything is read and checked when the stage is built, which the pipeline does at load:
a missing, unreadable or empty eval file is an `EvalSetError` naming it before any work.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from corpuskit.errors import ConfigError
from corpuskit.io import COMPRESSED_SUFFIXES, base_suffix, read_bytes

FORMATS = (".jsonl", ".json", ".parquet", ".txt")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


class EvalSetError(ConfigError):
    """An eval set cannot be used: missing, unreadable, empty, or not in a format read here."""


@dataclass(frozen=True)
class EvalSet:
    """One benchmark: its name, its files with their sha256, and its items' text pieces."""

    name: str
    files: tuple[tuple[str, str], ...]  # (path as given or found, sha256 of its bytes)
    items: tuple[tuple[str, ...], ...]

    def record(self) -> dict:
        return {"name": self.name, "items": len(self.items),
                "files": [{"path": p, "sha256": h} for p, h in self.files]}


def parse_entry(entry: str) -> tuple[str | None, str]:
    """`NAME=PATH` -> (NAME, PATH); `PATH` -> (None, PATH). A path that exists is a path even
    with `=` in it."""
    name, sep, path = entry.partition("=")
    if sep and name and not os.path.exists(entry) and "/" not in name and os.sep not in name:
        return name, path
    return None, entry


def _is_saved_dataset(p: Path) -> bool:
    return (p / "state.json").is_file() or (p / "dataset_dict.json").is_file()


def _is_eval_file(p: Path) -> bool:
    name = p.name.lower()
    return not name.startswith(".") and base_suffix(p) in FORMATS and (
        p.suffix.lower() in FORMATS or name.endswith(COMPRESSED_SUFFIXES))


def stem(p: Path) -> str:
    name = p.name
    for comp in COMPRESSED_SUFFIXES:
        if name.lower().endswith(comp):
            name = name[: -len(comp)]
    return Path(name).stem if Path(name).suffix.lower() in FORMATS else name


def _sources(path: str) -> list[Path]:
    p = Path(path)
    if not p.exists():
        raise EvalSetError(f"eval set {path}: no such file or folder")
    if p.is_file() or _is_saved_dataset(p):
        return [p]
    found: list[Path] = []
    for root, dirs, files in os.walk(p):
        dirs.sort()
        here = Path(root)
        if here != p and _is_saved_dataset(here):
            found.append(here)
            dirs.clear()
            continue
        found += [here / f for f in sorted(files) if _is_eval_file(here / f)]
    if not found:
        raise EvalSetError(f"eval set {path}: a folder with no eval file in it "
                           f"({', '.join(FORMATS)}, or a dataset saved with save_to_disk)")
    return found


def _rows(p: Path) -> tuple[list, str]:
    """The rows of one eval source and the sha256 of its bytes."""
    if p.is_dir():
        from corpuskit.readers.hf import saved_splits

        digest = hashlib.sha256()
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            digest.update(f.relative_to(p).as_posix().encode() + b"\0" + f.read_bytes())
        return [dict(row) for _, ds in saved_splits(str(p)) for row in ds], digest.hexdigest()
    raw = read_bytes(p)
    digest = hashlib.sha256(raw).hexdigest()
    kind = base_suffix(p)
    if kind == ".parquet":
        import io

        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(raw)).to_pylist(), digest
    text = raw.decode("utf-8")
    if kind == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as err:
                    raise EvalSetError(f"eval set {p} line {n}: not JSON ({err})") from None
        return rows, digest
    if kind == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise EvalSetError(f"eval set {p}: not JSON ({err})") from None
        if isinstance(data, dict):  # {"data": [rows]} or {"test": [rows]}: the one list of rows
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if len(lists) == 1 else None
        if not isinstance(data, list):
            raise EvalSetError(f"eval set {p}: expected a JSON list of rows (or an object holding one)")
        return data, digest
    return [block for block in _BLANK_LINE.split(text.replace("\r\n", "\n"))], digest


def _llm_foundry(row: dict) -> list | None:
    """An llm-foundry row as the task shows it: the prompt followed by its gold answer, then the
    other choices; None for any other row."""
    gold = row.get("gold")
    if "continuation" in row and "context" in row:
        return [row["context"], row["continuation"]]
    if not (isinstance(gold, int) and not isinstance(gold, bool)):
        return None
    for prompt, answers in (("query", "choices"), ("context_options", None)):
        options = row.get(answers or prompt)
        if prompt in row and isinstance(options, list) and 0 <= gold < len(options):
            if answers is None:  # schema: the options are prompts, the continuation is shared
                return [options[gold], row.get("continuation")] + options[:gold] + options[gold + 1:]
            return [row[prompt], options[gold]] + options[:gold] + options[gold + 1:]
    return None


def _pieces(row, fields: tuple[str, ...] | None) -> tuple[str, ...]:
    if isinstance(row, str):
        values = [row]
    elif isinstance(row, dict) and not fields and _llm_foundry(row) is not None:
        values = _llm_foundry(row)
    elif isinstance(row, dict):
        values = [row.get(k) for k in fields] if fields else list(row.values())
    else:
        return ()
    out = []
    for v in values:
        for s in v if isinstance(v, list) else [v]:
            if isinstance(s, str) and s.strip():
                out.append(s)
    return tuple(out)


_READ: dict[tuple, tuple[list, list[EvalSet]]] = {}  # per process: the stage is built once per unit


def read_eval_sets(entries: list[str], fields: list[str] | None = None) -> list[EvalSet]:
    """Every benchmark the entries name, read and checked; EvalSetError naming the first bad one.

    Read once per process while the files keep their size and modification time."""
    key = (tuple(entries), tuple(fields or ()))
    stamp = [_stamp(src) for entry in entries for src in _sources(parse_entry(entry)[1])]
    if key not in _READ or _READ[key][0] != stamp:
        _READ[key] = (stamp, _read(entries, fields))
    return _READ[key][1]


def _stamp(p: Path) -> tuple:
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _read(entries: list[str], fields: list[str] | None) -> list[EvalSet]:
    sets: dict[str, EvalSet] = {}
    wanted = tuple(fields) if fields else None
    for entry in entries:
        name, path = parse_entry(entry)
        files, items = [], []
        for src in _sources(path):
            try:
                rows, digest = _rows(src)
            except EvalSetError:
                raise
            except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:  # EOFError: a cut archive
                raise EvalSetError(f"eval set {src}: cannot read it ({type(err).__name__}: {err})") from None
            these = [p for p in (_pieces(r, wanted) for r in rows) if p]
            if not these:
                what = f"no string in the fields {', '.join(wanted)}" if wanted else "no text"
                raise EvalSetError(f"eval set {src}: {what}; nothing to check against")
            bench = name or stem(src)
            if name is None:  # one benchmark per file
                _add(sets, EvalSet(bench, ((str(src), digest),), tuple(these)), src)
            else:
                files.append((str(src), digest))
                items += these
        if name is not None:
            _add(sets, EvalSet(name, tuple(files), tuple(items)), path)
    return list(sets.values())


def _add(sets: dict[str, EvalSet], es: EvalSet, where) -> None:
    if es.name in sets:
        raise EvalSetError(f"eval set {where}: a second benchmark named {es.name!r}; "
                           "name them apart with NAME=PATH")
    sets[es.name] = es
