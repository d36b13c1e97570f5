"""Synthetic corpora with planted near-duplicate clusters of known size, for bench_dedup_scale.py.

Two modes:

- `write_text_corpus`: JSON Lines documents of real prose. A unique document is 8 sentences
  drawn at random from the sentences of the embedded books (corpus/*.txt.gz, ~100k of them),
  ~900 bytes. Some documents are the source of a cluster: 1, 2, 4, 9 or 49 near copies
  follow it (somewhere in the next 50,000 documents (a tenth of a smaller corpus), so often in another file), each the
  source with 0-5 % of its words inserted, deleted or substituted and sometimes a line of
  boilerplate around it. truth.tsv lists every copy with its source and its true word
  5-gram Jaccard to it (computed with the stage's own word normalization).
- `write_band_stores`: the MinHash stores that the stage's index phase would write, without
  text: random 64-bit band hashes (14 x 8 bytes = 112 bytes a document), and signatures only
  for the members of planted clusters (in runs of 64 documents; a sparse file elsewhere: unique documents never share
  a bucket with 64-bit hashes, so their signatures are never read). A copy with planted
  similarity J shares each band with its source with probability J^8 and each other
  signature value with probability J, as a real copy does. This measures the reduce (bucketing,
  verification, clustering) at sizes whose text would not fit the disk.

Documents are numbered in input order; a copy always comes after its source, so the kept
document of a cluster (keep=first) is its source and every removed document should be a copy.
"""

from __future__ import annotations

import gzip
import heapq
import json
import re
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CLUSTER_SIZES = np.array([2, 3, 5, 10, 50])  # documents per planted cluster, source included
CLUSTER_WEIGHTS = np.array([0.6, 0.2, 0.1, 0.08, 0.02])
EDIT_RATES = [0.0, 0.01, 0.02, 0.03, 0.05]
BOILERPLATE = ["Subscribe to our newsletter for more stories like this one.",
               "This article was originally published on our website. All rights reserved.",
               "Click here to read more. Share this page with your friends!"]


def sentences() -> list[str]:
    """The distinct sentences of 6 to 60 words in the embedded books, in a stable order."""
    seen: dict[str, None] = {}
    for path in sorted((REPO / "corpus").glob("*.txt.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8-sig", errors="replace")
        for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 6 <= len(s.split()) <= 60:
                seen.setdefault(s, None)
    return list(seen)


def jaccard5(a: str, b: str) -> float:
    from corpuskit.stages.dedup.shingles import normalize_words

    def grams(t: str) -> set:
        w = normalize_words(t)
        return {tuple(w[i:i + 5]) for i in range(max(len(w) - 4, 1))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / max(len(ga | gb), 1)


def _mutate(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    rate = EDIT_RATES[rng.integers(len(EDIT_RATES))]
    if rate:
        out = []
        for w, r in zip(words, rng.random(len(words))):
            if r < rate / 3:
                continue  # deletion
            out.append(words[int(r * 1e9) % len(words)] if r < 2 * rate / 3 else w)  # substitution
            if 2 * rate / 3 <= r < rate:
                out.append(words[int(r * 1e9) % len(words)])  # insertion
        words = out
    text = " ".join(words)
    if rng.random() < 0.2:
        text = BOILERPLATE[rng.integers(len(BOILERPLATE))] + "\n\n" + text
    return text


def write_text_corpus(out: Path, n_docs: int, n_files: int = 8, source_rate: float = 0.05,
                      seed: int = 0) -> dict:
    """Write n_docs documents as out/part-NNN.jsonl and out/../truth.tsv; returns a summary."""
    pool = sentences()
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    per_file = -(-n_docs // n_files)
    pending: list[tuple[int, int, int]] = []  # (position, tie, source number): copies to place
    sources: dict[int, str] = {}
    left: dict[int, int] = {}
    truth = open(out.parent / "truth.tsv", "w", encoding="utf-8")
    fh = None
    size = n_copies = tie = 0
    window = max(100, min(50_000, n_docs // 10))  # copies land within this many documents after the source
    for pos in range(n_docs):
        if pos % per_file == 0:
            if fh:
                fh.close()
            fh = open(out / f"part-{pos // per_file:03d}.jsonl", "w", encoding="utf-8")
        if pending and pending[0][0] <= pos:
            _, _, src = heapq.heappop(pending)
            text = _mutate(sources[src], rng)
            doc_id = f"c{pos}"
            truth.write(f"{doc_id}\td{src}\t{jaccard5(sources[src], text):.4f}\n")
            n_copies += 1
            left[src] -= 1
            if not left[src]:
                del sources[src], left[src]
        else:
            text = " ".join(pool[i] for i in rng.integers(0, len(pool), 8))
            doc_id = f"d{pos}"
            if rng.random() < source_rate:
                k = int(rng.choice(CLUSTER_SIZES, p=CLUSTER_WEIGHTS)) - 1
                sources[pos], left[pos] = text, k
                for at in rng.integers(pos + 1, pos + window, k):
                    tie += 1
                    heapq.heappush(pending, (int(at), tie, pos))
        line = json.dumps({"id": doc_id, "text": text}) + "\n"
        size += len(line)
        fh.write(line)
    fh.close()
    truth.close()
    return {"docs": n_docs, "copies": n_copies, "bytes": size}


def write_band_stores(root: Path, n_docs: int, n_units: int, params: dict, member_rate: float = 0.02,
                      seed: int = 0) -> dict:
    """Write root/unit-NNNNN/ stores (store.py's layout) for n_docs documents, with planted
    clusters covering about member_rate of them, and root/truth.npz (copy, source, J)."""
    bands, rows, num_perm = params["bands"], params["rows"], params["num_perm"]
    rng = np.random.default_rng(seed)
    # Members in runs of 64 consecutive documents (clusters still mix runs from anywhere), so the
    # signature rows written are few pages of the sparse file: ~10 bytes a document on disk.
    runs = np.unique(rng.integers(0, max(n_docs // 64, 1), max(int(n_docs * member_rate) // 64, 1)))
    members = (runs[:, None] * 64 + np.arange(64)).ravel()
    members = members[members < n_docs]
    rng.shuffle(members)
    sizes = rng.choice(CLUSTER_SIZES, size=len(members) // 2, p=CLUSTER_WEIGHTS)
    ends = np.cumsum(sizes)
    sizes, ends = sizes[ends <= len(members)], ends[ends <= len(members)]
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    members = members[:len(cluster)]
    order = np.lexsort((members, cluster))
    members, cluster = members[order], cluster[order]
    first = np.r_[True, cluster[1:] != cluster[:-1]]
    source = members[first][np.cumsum(first) - 1]  # the smallest position of each cluster
    j = rng.uniform(0.8, 1.0, len(members))
    j[first] = 1.0
    # Signatures: the source's random values; a copy keeps each band whole with probability J^8,
    # and each value of the other bands with probability J (at least one changed: not shared).
    src_sig = rng.integers(0, 2**32, (len(sizes), num_perm), dtype=np.uint32)[np.cumsum(first) - 1]
    sig = src_sig.copy()
    keep_band = rng.random((len(members), bands), dtype=np.float32) < (j[:, None] ** rows).astype(np.float32)
    keep_val = rng.random((len(members), num_perm), dtype=np.float32) < j[:, None].astype(np.float32)
    for k in range(bands):
        cols = slice(k * rows, (k + 1) * rows)
        kv = keep_val[:, cols]
        kv[np.all(kv, axis=1), 0] = False
        kv[keep_band[:, k]] = True
    sig[~keep_val] ^= rng.integers(1, 2**32, int((~keep_val).sum()), dtype=np.uint32)
    from corpuskit.stages.dedup.signatures import band_hashes

    member_bands = band_hashes(sig, bands, rows)
    by_pos = np.argsort(members)
    members_sorted = members[by_pos]
    per = -(-n_docs // n_units)
    for u in range(n_units):
        lo, hi = u * per, min(n_docs, (u + 1) * per)
        d = root / f"unit-{u:05d}"
        d.mkdir(parents=True, exist_ok=True)
        a, b = np.searchsorted(members_sorted, [lo, hi])
        mine = by_pos[a:b]
        for k in range(bands):
            h = rng.integers(0, 2**64, hi - lo, dtype=np.uint64)
            h[members[mine] - lo] = member_bands[mine, k]
            h.tofile(d / f"band-{k:02d}.u64")
        with open(d / "sig.u32", "wb") as fh:  # sparse: only the members' rows are written
            fh.truncate(4 * num_perm * (hi - lo))
        if len(mine):
            mm = np.memmap(d / "sig.u32", dtype=np.uint32, mode="r+", shape=(hi - lo, num_perm))
            mm[members[mine] - lo] = sig[mine]
            mm.flush()
            del mm
        np.full(hi - lo, 100, np.int64).tofile(d / "nshingles.i64")
        np.full(hi - lo, 1000, np.int64).tofile(d / "length.i64")
        with open(d / "ids.txt", "w", encoding="utf-8") as fh:
            fh.write("".join(f'"d{i}"\n' for i in range(lo, hi)))
        meta = {"n_docs": hi - lo, "no_words": 0, "bands": bands, "num_perm": num_perm, "shingles": False,
                "params": params}
        (d / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    copies = ~first
    np.savez(root / "truth.npz", copy=members[copies], source=source[copies], jaccard=j[copies])
    return {"docs": n_docs, "copies": int(copies.sum()), "bytes": 0}
