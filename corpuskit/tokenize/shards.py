"""Tokenize documents into Arrow shards by split, with a manifest (docs/SHARDS.md).

Each input source (a run's `part-*` file) is a unit of work of its own: a task on the run's
executor (a local worker, or a Ray task on any node) encodes its documents in batches and
routes each to its split's writer, which names its shards after the unit
(`train/shard-00003-00000.arrow`, `-00001`, ...), cuts a new shard once it holds
`shard_tokens` tokens and a record batch every `batch_rows` documents. The driver then only
merges the units' shard lists, in unit order, into the manifest. So the bytes depend only on
the documents, the tokenizer and this configuration, never on the number of workers or the
executor; and each split's token stream, read in manifest order, is the documents in input
order. Run in-process (one worker), `tokenizers` encodes a batch on its own thread pool.

Every file is written under a temporary name and renamed when complete; the manifest
is removed first and written last, so a shard directory with a manifest is always whole.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa

from corpuskit.document import Document
from corpuskit.io import atomic_write_bytes, tmp_path
from corpuskit.layout import SHARD_NAME, SHARDS_MARKER, claim_folder, folder_lock
from corpuskit.tokenize.bpe import (
    EOT, load_tokenizer, special_token_ids, token_id, tokenizer_threads,
)
from corpuskit.tokenize.manifest import (
    MANIFEST, TOKENIZER_FILE, build_manifest, dtype_for_vocab, eval_sets_checked, file_sha256, load_manifest,
    read_tokenizer,
    shard_path, split_summary, vocab_size_of, write_manifest, ShardsError,
)
from corpuskit.tokenize.config import ShardConfig
from corpuskit.tokenize.hf import SPLIT_FILES, TOP_FILES, write_hf_files

ENCODE_BATCH = 2048  # documents per encode_batch call; does not change the output


def shard_schema(dtype: str) -> pa.Schema:
    return pa.schema([
        ("input_ids", pa.list_(pa.uint16() if dtype == "uint16" else pa.uint32())),
        ("doc_id", pa.string()),
        ("n_tokens", pa.int32()),
    ])


class SplitWriter:
    """The shards of one split: `SPLIT/shard-00000.arrow`, ..., each an Arrow IPC stream."""

    def __init__(self, root: Path, split: str, schema: pa.Schema, cfg: ShardConfig, unit: str = "00000"):
        self.root, self.split, self.schema, self.cfg, self.unit = root, split, schema, cfg, unit
        self.shards: list[dict] = []
        self.n_bytes = 0
        self._rows: tuple[list, list, list] = ([], [], [])
        self._path: Path | None = None
        self._sink = self._writer = None
        self._docs = self._tokens = 0

    def add(self, doc_id: str, ids: list[int], n_bytes: int) -> None:
        if self._writer is None:
            self._open()
        self._rows[0].append(ids)
        self._rows[1].append(doc_id)
        self._rows[2].append(len(ids))
        self._docs += 1
        self._tokens += len(ids)
        self.n_bytes += n_bytes
        if len(self._rows[1]) >= self.cfg.batch_rows:
            self._flush()
        if self._tokens >= self.cfg.shard_tokens:
            self._close()

    def finish(self) -> dict:
        if self._writer is not None:
            self._close()
        return split_summary(self.shards, self.n_bytes)

    def abort(self) -> None:
        if self._writer is not None:
            self._sink.close()
            Path(tmp_path(self._path)).unlink(missing_ok=True)
            self._writer = None

    def _open(self) -> None:
        name = f"shard-{self.unit}-{len(self.shards):05d}.arrow"
        self._path = self.root / self.split / name
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._sink = pa.OSFile(str(tmp_path(self._path)), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        self._docs = self._tokens = 0

    def _flush(self) -> None:
        ids, doc_ids, counts = self._rows
        if not doc_ids:
            return
        batch = pa.RecordBatch.from_arrays(
            [pa.array(ids, type=self.schema.field("input_ids").type), pa.array(doc_ids, pa.string()),
             pa.array(counts, pa.int32())], schema=self.schema)
        self._writer.write_batch(batch)
        self._rows = ([], [], [])

    def _close(self) -> None:
        self._flush()
        self._writer.close()
        self._sink.close()
        tmp = tmp_path(self._path)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest = file_sha256(tmp)
        os.replace(tmp, self._path)
        self.shards.append({"file": f"{self.split}/{self._path.name}", "n_documents": self._docs,
                            "n_tokens": self._tokens, "sha256": digest})
        self._writer = None


def _batches(docs: Iterable[Document], n: int) -> Iterator[list[Document]]:
    it = iter(docs)
    while batch := list(islice(it, n)):
        yield batch


def shards_up_to_date(out_dir: Path, tokenizer: dict, record: dict) -> bool:
    """True when `out_dir` holds finished shards made from the same tokenizer, inputs and settings.

    `tokenizer` and `record` hold the manifest's expected values (tokenizer fields, top-level fields).
    """
    try:
        manifest = load_manifest(out_dir)
    except ShardsError:
        return False
    if any(manifest["tokenizer"].get(k) != v for k, v in tokenizer.items()):
        return False
    if any(manifest.get(k) != v for k, v in record.items()):
        return False
    # Verified, not assumed: a shard or tokenizer replaced or cut since the manifest was written
    # makes the directory stale, so the rerun rewrites it instead of calling it up to date.
    try:
        read_tokenizer(out_dir, manifest)
        for split in manifest["splits"].values():
            for entry in split["shards"]:
                if file_sha256(shard_path(out_dir, entry)) != entry["sha256"]:
                    return False
    except ShardsError:
        return False
    return all((out_dir / f).is_file() for f in TOP_FILES)


@dataclass(frozen=True)
class ShardTask:
    """One unit of the shard step, picklable for the executor: a source (or, in-process only,
    any iterable of documents) and everything its worker needs to write that unit's shards."""

    unit: str  # names the unit's shards: the source's index
    source: object  # a readers.Source (read with `reader`), or documents
    reader: object
    tokenizer_file: str
    out_dir: str
    cfg: ShardConfig
    eot_id: int
    dtype: str
    threads: int  # tokenizers' threads: 1 in a worker process, which is one core of the run


def encode_unit(task: ShardTask) -> dict:
    """Write one unit's shards; returns its per-split summaries and dropped counts."""
    from corpuskit.readers import read_source

    dropped: Counter[str] = Counter()
    if task.reader is None:
        docs: Iterable[Document] = task.source
    else:
        docs = read_source(task.source, task.reader, lambda doc, reason, stage, **detail: dropped.update([reason]))
    tok = load_tokenizer(Path(task.tokenizer_file))
    # Text that happens to contain "<|endoftext|>" is text: it must not forge a document boundary.
    tok.encode_special_tokens = True
    encode = getattr(tok, "encode_batch_fast", tok.encode_batch)  # no offsets: faster, same ids
    schema, split = shard_schema(task.dtype), task.cfg.split
    writers = {name: SplitWriter(Path(task.out_dir), name, schema, task.cfg, task.unit) for name in split.splits}
    try:
        with tokenizer_threads(task.threads):
            for batch in _batches(docs, ENCODE_BATCH):
                kept = [d for d in batch if d.text]
                dropped["empty_text"] += len(batch) - len(kept)
                for doc, enc in zip(kept, encode([d.text for d in kept], add_special_tokens=False)):
                    ids = enc.ids
                    ids.append(task.eot_id)
                    writers[split.assign(doc.id)].add(doc.id, ids, len(doc.text.encode("utf-8")))
        for w in writers.values():
            w.finish()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return {"unit": task.unit, "dropped": dict(dropped),
            "splits": {name: (w.shards, w.n_bytes) for name, w in writers.items()}}


def write_shards(
    docs: Iterable[Document],
    tokenizer_file: str | Path,
    out_dir: str | Path,
    cfg: ShardConfig,
    *,
    workers: int = 1,
    eot_token: str = EOT,
    bos_token: str | None = None,
    pad_token: str | None = None,
    pipeline_config_sha256: str | None = None,
    record: dict | None = None,
    run_map=None,
) -> dict:
    """Tokenize `docs` (in their order) into `out_dir`; returns the manifest it wrote.

    `docs` with `sources` (tokenize.inputs.InputDocuments) is cut into one task per source,
    run through `run_map` (an executor's map; None: one after the other in this process);
    any other iterable is one unit, here. `record` holds extra manifest fields (such as the
    inputs' fingerprint) that `shards_up_to_date` compares on a rerun. Records the readers
    reject are counted by reason, documents with empty text as `empty_text`; both are
    recorded in the manifest's `dropped`.
    """
    out = Path(out_dir)
    with folder_lock(out, "shard writer"):  # a second writer would drop this one's shards as stale (#33 item 15)
        return _write_shards(docs, Path(tokenizer_file), out, cfg, workers, eot_token, bos_token, pad_token,
                             pipeline_config_sha256, record, run_map)


def _write_shards(docs, tokenizer_file: Path, out: Path, cfg: ShardConfig, workers, eot_token, bos_token, pad_token,
                  pipeline_config_sha256, record, run_map) -> dict:
    claim_folder(out, SHARDS_MARKER, "shard directory")  # never write into someone else's folder
    tok = load_tokenizer(tokenizer_file)
    eot_id = token_id(tok, eot_token, "eot")
    info = {
        "file": TOKENIZER_FILE,
        "sha256": file_sha256(tokenizer_file),
        "vocab_size": vocab_size_of(tok),  # covers every id, even where a tokenizer skips some
        "eot_id": eot_id,
        "bos_id": token_id(tok, bos_token, "bos"),
        "pad_id": token_id(tok, pad_token, "pad"),
        "special_tokens": special_token_ids(tok),
        "eot_token": eot_token,
        "bos_token": bos_token,
        "pad_token": pad_token,
    }
    dtype = dtype_for_vocab(info["vocab_size"])
    (out / MANIFEST).unlink(missing_ok=True)  # from here on the directory is incomplete
    dest = out / TOKENIZER_FILE
    if dest.is_symlink() or tokenizer_file.resolve() != dest.resolve():  # a link is replaced by the file itself
        atomic_write_bytes(dest, tokenizer_file.read_bytes())
    common = dict(tokenizer_file=str(tokenizer_file.resolve()), out_dir=str(out.resolve()), cfg=cfg,
                  eot_id=eot_id, dtype=dtype)
    sources = getattr(docs, "sources", None)
    if sources is None:
        tasks = [ShardTask("00000", docs, None, threads=workers, **common)]
    else:
        parallel = run_map is not None and workers > 1
        tasks = [ShardTask(f"{i:05d}", src, docs.reader, threads=1 if parallel else workers, **common)
                 for i, src in enumerate(sources)]
    results = sorted((run_map or map)(encode_unit, tasks), key=lambda r: r["unit"])
    dropped: Counter[str] = Counter()
    splits = {}
    for name in cfg.split.splits:
        shards = [s for r in results for s in r["splits"][name][0]]
        splits[name] = split_summary(shards, sum(r["splits"][name][1] for r in results))
    for r in results:
        dropped.update(r["dropped"])
    _remove_stale(out, splits)
    extra = {
        "split": {"method": "blake2b64(doc_id) / 2**64", "validation": cfg.validation, "test": cfg.test},
        "shard_tokens": cfg.shard_tokens,
        "batch_rows": cfg.batch_rows,
        "dropped": {k: v for k, v in sorted(dropped.items()) if v},
        **(record or {}),
    }
    checked = eval_sets_checked(getattr(docs, "path", None))
    if checked is not None:  # the run decontaminated its documents: say against what (docs/DECONTAMINATION.md)
        extra["decontaminated"] = checked
    manifest = build_manifest(tokenizer=info, dtype=dtype, splits=splits,
                              pipeline_config_sha256=pipeline_config_sha256, extra=extra)
    write_hf_files(out, manifest)  # datasets.load_from_disk and AutoTokenizer open the directory as it is
    write_manifest(out, manifest)
    return manifest


def _remove_stale(out: Path, splits: dict[str, dict]) -> None:
    """Drop shards an earlier, larger run left behind, so the directory holds exactly the manifest's files."""
    listed = {s["file"] for split in splits.values() for s in split["shards"]}
    for sub in ("train", "validation", "test"):
        folder = out / sub
        if not folder.is_dir():
            continue
        for p in folder.glob("shard-*.arrow"):
            if f"{sub}/{p.name}" not in listed and SHARD_NAME.match(p.name):
                p.unlink()
        if not splits.get(sub, {}).get("shards"):  # no documents now: no Hugging Face split either
            for name in SPLIT_FILES:
                (folder / name).unlink(missing_ok=True)
        if sub not in splits and not any(folder.iterdir()):
            shutil.rmtree(folder)


def summary_line(manifest: dict, seconds: float, out_dir: Path) -> str:
    parts = [f"{name} {s['n_tokens']:,} tokens / {s['n_documents']:,} docs in {len(s['shards'])} shard(s)"
             for name, s in manifest["splits"].items()]
    bpt = manifest["bytes_per_token"]
    return (f"shards: {'; '.join(parts)}; {bpt:.2f} bytes/token, {manifest['dtype']}; "
            f"{seconds:.1f}s -> {out_dir}" if bpt else f"shards: no tokens -> {out_dir}")
