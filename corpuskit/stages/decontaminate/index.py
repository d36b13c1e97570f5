"""The n-gram index of the eval sets, and the search of one document against it.

Built once per set of eval files and settings (its folder is named by a sha256 of both),
as a few numpy arrays saved with `np.save` and memory-mapped by every worker:

    keys.npy         uint64, sorted: the hash of each distinct `probe`-word n-gram of the eval items
    key_rows.npy     int64: where each key's rows start (and one past the last row)
    row_item.npy     uint32: which item that n-gram is from (one row per occurrence)
    row_pos.npy      uint32: where in the item it starts (in words)
    item_*.npy       per item: benchmark, row in its file, length in words, where its pieces start
    coverable.npy, weight.npy   per word of every item: covered by a kept n-gram; its rarity

An n-gram found in more than `max_items` eval items is boilerplate of the sets (a prompt
template, "which of the following") and is left out: it is evidence for nothing.

An item is the words of its pieces in order (question, then choices or answer). A document
matches an item when the item's probe n-grams it holds, at consistent offsets (a cluster of
`doc position - item position`), cover at least `min_words` of its words (all of them, for
the pieces it touches, if they are shorter) and either a run of `ngram` consecutive words (GPT-3's 13-gram
rule: a long passage quoted in part) or at least `min_coverage` of the words of the pieces
they touch (an item with a few words changed, which breaks every long n-gram; a question
without its answer). Only words some kept n-gram covers count, so a template every item
shares neither makes nor breaks a match. Items shorter than `probe` words are not indexed: nothing can tell them from
ordinary text. (The "piece" arrays below are per item.)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Callable

import numpy as np

from corpuskit.stages.decontaminate.evalsets import EvalSet
from corpuskit.stages.decontaminate.text import hash_texts, ngram_hashes

_ARRAYS = ("keys", "key_rows", "row_item", "row_pos", "item_bench", "item_row", "item_offset", "part_start", "item_parts",
           "coverable", "weight")
_LOADED: dict[str, "Index"] = {}  # per process: every unit a worker runs shares one loaded index
_BITS = 27


@dataclass(frozen=True)
class Hit:
    bench: int  # index into Index.benchmarks
    item: int  # the item's number in its benchmark (its row, from 0)
    start: int  # first word of the match in the document
    end: int  # one past its last word
    coverage: float  # share of the words of the item's pieces it touches that the match covers


def build(sets: list[EvalSet], probe: int, max_items: int) -> dict[str, np.ndarray | list]:
    """The index arrays (and the vocabulary) of `sets`."""
    texts = [text for es in sets for item in es.items for text in item]
    hashes, text_of = hash_texts(texts)
    counts = np.bincount(text_of, minlength=len(texts)).tolist()
    keep_words = np.zeros(len(texts), dtype=bool)  # the words of items long enough to index
    item_bench, item_row, item_len, part_start, item_parts = [], [], [], [], [0]
    t = 0
    for b, es in enumerate(sets):
        for i, item in enumerate(es.items):
            mine = counts[t:t + len(item)]  # the pieces in order, one word sequence
            if sum(mine) >= probe:
                keep_words[t:t + len(item)] = True
                part_start += accumulate([c for c in mine if c][:-1], initial=0)  # not numpy: 52,000 tiny lists
                item_bench.append(b), item_row.append(i), item_len.append(sum(mine))
                item_parts.append(len(part_start))
            t += len(item)
    hashes = hashes[keep_words[text_of]]
    offset = np.concatenate(([0], np.cumsum(item_len, dtype=np.int64)))
    # every n-gram of every item in one pass: a 0 (a gap, which no window may hold) after each
    # item keeps windows from running into the next one
    spaced = np.zeros(len(hashes) + len(item_len), dtype=np.uint64)
    owner = np.repeat(np.arange(len(item_len)), item_len)
    spaced[np.arange(len(hashes)) + owner] = hashes
    k, at = ngram_hashes(spaced, probe)
    item = np.searchsorted(offset + np.arange(len(offset)), at, side="right") - 1
    pos = at - offset[item] - item
    keys, row_item, row_pos = [k], [item.astype(np.uint32)], [pos.astype(np.uint32)]
    cat = (lambda parts, dt: np.concatenate(parts) if parts else np.empty(0, dt))
    k, item, pos = cat(keys, np.uint64), cat(row_item, np.uint32), cat(row_pos, np.uint32)
    order = np.argsort(k, kind="stable")  # rows come in (item, pos) order: stable keeps it per key
    k, item, pos = k[order], item[order], pos[order]
    # how many distinct items hold each n-gram: rows of one key are contiguous, sorted by item
    new_key = np.ones(len(k), dtype=bool)
    new_key[1:] = k[1:] != k[:-1]
    new_pair = new_key.copy()
    new_pair[1:] |= item[1:] != item[:-1]
    key_id = np.cumsum(new_key) - 1
    items_per_key = np.bincount(key_id, weights=new_pair).astype(np.int64) if len(k) else np.empty(0, np.int64)
    keep = items_per_key[key_id] <= max_items
    k, item, pos = k[keep], item[keep], pos[keep]
    # the words of each item that some kept n-gram covers: coverage is counted over these only,
    # so a prompt template shared by every item neither helps nor hinders a match
    edge = np.zeros(offset[-1] + 1, dtype=np.int64)
    np.add.at(edge, offset[item] + pos, 1)
    np.add.at(edge, offset[item] + pos + probe, -1)
    coverable = np.cumsum(edge)[:-1] > 0
    findable = np.add.reduceat(coverable, offset[:-1]) > 0 if len(item_len) else np.zeros(0, dtype=bool)
    found = np.bincount(np.array(item_bench, dtype=np.int64)[findable], minlength=len(sets))
    unfindable = {es.name: len(es.items) - int(found[b]) for b, es in enumerate(sets) if len(es.items) > found[b]}
    weight = _weights(hashes, owner)
    first = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1]))) if len(k) else np.zeros(0, np.int64)
    return {"keys": k[first], "key_rows": np.append(first, len(k)), "row_item": item, "row_pos": pos,
            "item_bench": np.array(item_bench, dtype=np.uint16), "item_row": np.array(item_row, dtype=np.uint32),
            "item_offset": offset, "part_start": np.array(part_start, dtype=np.uint32),
            "item_parts": np.array(item_parts, dtype=np.int64), "coverable": coverable, "weight": weight,
            "unfindable": unfindable,
            "dropped_ngrams": int((items_per_key > max_items).sum())}


def _weights(hashes: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Per word of every item, log(1 + items / items holding the word): a word every item has
    ("question", "the") weighs little, a rare one ("weathering") most."""
    if not len(hashes):
        return np.empty(0, dtype=np.float32)
    order = np.argsort(hashes, kind="stable")  # owner never decreases: stable keeps it per word
    h, o = hashes[order], owner[order]
    new_word = np.ones(len(h), dtype=bool)
    new_word[1:] = h[1:] != h[:-1]
    new_pair = new_word.copy()
    new_pair[1:] |= o[1:] != o[:-1]
    word_id = np.cumsum(new_word) - 1
    df = np.bincount(word_id, weights=new_pair)
    weight = np.empty(len(h), dtype=np.float32)
    weight[order] = np.log1p((owner.max() + 1) / df[word_id])  # log1p: never 0, even for one item
    return weight


def build_once(folder: Path, make: Callable[[], tuple[dict, dict]]) -> None:
    """Build the index into `folder` unless it is there. One worker builds, holding the marker
    FOLDER.building (made with O_EXCL); the others wait for the folder instead of building the
    same bytes on the same cores. A marker whose builder died on this host, or older than ten
    minutes on another host, is taken over."""
    marker = folder.with_name(folder.name + ".building")
    folder.parent.mkdir(parents=True, exist_ok=True)
    while not folder.is_dir():
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _builder_gone(marker):
                marker.unlink(missing_ok=True)
            else:
                time.sleep(0.05)
            continue
        try:
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
            os.close(fd)
            if not folder.is_dir():
                save(folder, *make())
        finally:
            marker.unlink(missing_ok=True)


def _builder_gone(marker: Path) -> bool:
    try:
        owner = json.loads(marker.read_text())
        age = time.time() - marker.stat().st_mtime
    except (OSError, ValueError):  # gone already, or being written
        return False
    if owner.get("host") != socket.gethostname():
        return age > 600
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (OSError, KeyError, ValueError, TypeError):
        return False
    return False


def save(folder: Path, built: dict, meta: dict) -> None:
    """Write the index to `folder` whole: built in a temporary folder, then renamed. Two builders
    write the same bytes; the second rename finds it there and steps back."""
    if folder.is_dir():
        return
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in _ARRAYS:
        np.save(tmp / f"{name}.npy", built[name], allow_pickle=False)
    meta = {**meta, "dropped_ngrams": built["dropped_ngrams"], "unfindable": built["unfindable"]}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    try:
        os.rename(tmp, folder)
    except OSError:
        if not folder.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


class Index:
    """A saved index, memory-mapped, with the search of one document."""

    def __init__(self, folder: Path, probe: int, ngram: int, min_coverage: float, min_words: int):
        self.folder = folder
        self.meta = json.loads((folder / "meta.json").read_text())
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
        self.keys, self.key_rows = arrays["keys"], arrays["key_rows"]
        self.row_item, self.row_pos = arrays["row_item"], arrays["row_pos"]
        # small per-item tables: read into memory, indexed once per candidate item
        self.item_bench = np.asarray(arrays["item_bench"])
        self.item_row = np.asarray(arrays["item_row"])
        self.item_offset = np.asarray(arrays["item_offset"])
        self.part_start = np.asarray(arrays["part_start"]).astype(np.int64)
        self.item_parts = np.asarray(arrays["item_parts"])
        self.coverable = arrays["coverable"]
        self.weight = arrays["weight"]
        # coverable words of each item's first piece: a match must touch it (or be a run of
        # `ngram` words), and needs at most that many words when it is all it touches
        n_items = len(self.item_row)
        pieces = np.diff(self.item_parts)
        first_end = self.item_offset[1:].copy()
        several = np.flatnonzero(pieces > 1)
        first_end[several] = self.item_offset[several] + self.part_start[self.item_parts[several] + 1]
        covered = np.concatenate(([0], np.cumsum(np.asarray(self.coverable, dtype=np.int64))))
        n_first = covered[first_end] - covered[self.item_offset[:-1]] if n_items else np.zeros(0, dtype=np.int64)
        # one bit per possible low 27 bits of a key (16 MiB): nearly every window of a document
        # that is in no item is ruled out by one lookup here instead of a binary search
        bits = np.zeros(1 << _BITS, dtype=bool)
        bits[np.asarray(self.keys) & np.uint64((1 << _BITS) - 1)] = True
        self.maybe = np.packbits(bits, bitorder="little")
        del bits
        self.benchmarks: list[str] = self.meta["benchmarks"]
        self.probe, self.ngram, self.min_coverage, self.min_words = probe, ngram, min_coverage, min_words
        # fewest probe hits that could make a match: items with fewer are not looked at
        self.min_hits = np.maximum(np.minimum(np.minimum(min_words, ngram), n_first) - probe + 1, 1)

    @classmethod
    def load(cls, folder: Path, probe: int, ngram: int, min_coverage: float, min_words: int) -> "Index":
        key = f"{folder}|{probe}|{ngram}|{min_coverage}|{min_words}"
        if key not in _LOADED:
            _LOADED[key] = cls(folder, probe, ngram, min_coverage, min_words)
        return _LOADED[key]

    def memory_bytes(self) -> int:
        """Bytes of the arrays (mapped, shared by the workers of a machine) and of the filter
        (each process's own)."""
        arrays = sum(a.nbytes for a in (self.keys, self.key_rows, self.row_item, self.row_pos, self.item_bench, self.item_row,
                                         self.item_offset, self.part_start, self.item_parts, self.coverable,
                                         self.weight))
        return arrays + self.maybe.nbytes

    def maybe_found(self, texts: list[str]) -> list[bool]:
        """Per text: whether `search` could find an item in it (some item has at least its
        `min_hits` probe n-grams there). Most documents hold none; this asks about many at once,
        hashing them as one buffer, so that numpy's cost per call is paid per batch, not per
        document, and `search` runs only on the few that may."""
        if not len(self.keys) or not texts:
            return [False] * len(texts)
        hashes, text_of = hash_texts(texts)
        h, start = ngram_hashes(hashes, self.probe)
        inside = text_of[start] == text_of[start + self.probe - 1]  # no window across two texts
        rows, where = self._rows(h[inside], start[inside])
        pair = text_of[where] * len(self.item_row) + np.asarray(self.row_item[rows]).astype(np.int64)
        pairs, counts = np.unique(pair, return_counts=True)
        enough = counts >= self.min_hits[pairs % len(self.item_row)]
        hit = np.zeros(len(texts), dtype=bool)
        hit[pairs[enough] // len(self.item_row)] = True
        return hit.tolist()

    def _rows(self, h: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The index rows of the n-grams `h` (one per occurrence in an item), and the start of
        the document's n-gram each is for."""
        low = (h & np.uint64((1 << _BITS) - 1)).astype(np.int64)
        keep = (self.maybe[low >> 3] >> (low & 7).astype(np.uint8)) & 1 == 1
        h, start = h[keep], start[keep]
        at = np.minimum(np.searchsorted(self.keys, h), max(len(self.keys) - 1, 0))
        found = self.keys[at] == h
        at, start = at[found], start[found]
        lo = self.key_rows[at]
        n = self.key_rows[at + 1] - lo
        rows = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        return rows, np.repeat(start, n)

    def search_many(self, texts: list[str]) -> tuple[list[list[Hit]], list[int]]:
        """`search` of each text, asked for many at once, and each text's number of words: the
        texts are hashed as one buffer and their n-grams looked up together, so numpy's cost per
        call is paid per batch; only the (text, item) pairs with `min_hits` probe hits go on to
        the per-item clustering. The same hits, in the same order, as
        `search(word_hashes(text))` for each text."""
        out: list[list[Hit]] = [[] for _ in texts]
        if not texts:
            return out, []
        hashes, text_of = hash_texts(texts)
        n_words = np.bincount(text_of, minlength=len(texts)).tolist()
        if not len(self.keys):
            return out, n_words
        h, start = ngram_hashes(hashes, self.probe)
        inside = text_of[start] == text_of[start + self.probe - 1]  # no window across two texts
        rows, where = self._rows(h[inside], start[inside])
        if not len(rows):
            return out, n_words
        doc = text_of[where]
        doc_pos = where - np.searchsorted(text_of, doc)  # text_of never decreases: a text's first word
        n_items = len(self.item_row)
        pair = doc * n_items + np.asarray(self.row_item[rows]).astype(np.int64)
        order = np.argsort(pair, kind="stable")  # grouped by (text, item); in document order within
        pairs, first, counts = np.unique(pair[order], return_index=True, return_counts=True)
        ipos = np.asarray(self.row_pos[rows]).astype(np.int64)
        enough = counts >= self.min_hits[pairs % n_items]
        for p, a, c in zip(pairs[enough].tolist(), first[enough].tolist(), counts[enough].tolist()):
            d, it = divmod(p, n_items)
            sel = order[a:a + c]
            out[d] += self._clusters(it, doc_pos[sel], ipos[sel])
        return [sorted(hits, key=lambda x: (x.start, x.bench, x.item)) for hits in out], n_words

    def search(self, hashes: np.ndarray) -> list[Hit]:
        """The eval items a document holds, given its word hashes; in the order they start in it."""
        if len(hashes) < self.probe or not len(self.keys):
            return []
        rows, doc_pos = self._rows(*ngram_hashes(hashes, self.probe))
        if not len(rows):
            return []
        item = np.asarray(self.row_item[rows]).astype(np.int64)
        ipos = np.asarray(self.row_pos[rows]).astype(np.int64)
        cands, counts = np.unique(item, return_counts=True)
        hits: list[Hit] = []
        for it in cands[counts >= self.min_hits[cands]].tolist():
            mine = item == it
            hits += self._clusters(it, doc_pos[mine], ipos[mine])
        return sorted(hits, key=lambda x: (x.start, x.bench, x.item))

    def _clusters(self, it: int, doc_pos: np.ndarray, ipos: np.ndarray) -> list[Hit]:
        """Matches of item `it`: probe hits grouped by offset (a word added or removed by an edit
        shifts it a little; a second copy of the item elsewhere shifts it a lot)."""
        first = int(self.item_offset[it])
        length = int(self.item_offset[it + 1]) - first
        coverable = np.asarray(self.coverable[first:first + length], dtype=np.int64)
        starts = self.part_start[self.item_parts[it]:self.item_parts[it + 1]]
        part_coverable = np.add.reduceat(coverable, starts)
        weight = np.asarray(self.weight[first:first + length], dtype=np.float64) * coverable
        part_weight = np.add.reduceat(weight, starts)
        diag = doc_pos - ipos
        order = np.argsort(diag, kind="stable")
        diag, doc_pos, ipos = diag[order], doc_pos[order], ipos[order]
        cuts = np.flatnonzero(np.diff(diag) > max(8, length // 5)) + 1
        out = []
        for d, q in zip(np.split(doc_pos, cuts), np.split(ipos, cuts)):
            mask = _cover(q, self.probe, length)
            # words found: as counted in the item and in the document, whichever is fewer (one
            # phrase of the document can match two choices that share it)
            in_doc = _cover(d - d.min(), self.probe, int(d.max() - d.min()) + self.probe)
            found = min(int(mask.sum()), int(in_doc.sum()))
            touched = np.add.reduceat(mask, starts) > 0
            if found < min(self.min_words, part_coverable[touched].sum()):
                continue
            edges = np.diff(np.concatenate(([0], mask, [0])))
            run = int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0))
            # the weighted share of the words of the pieces the match touches: a question found
            # without its choices is found whole; a phrase shared with a long passage, or a
            # question's opening without its rare words, is a small share
            coverage = float((mask * weight).sum() * found / mask.sum() / max(part_weight[touched].sum(), 1e-9))
            # a choice or an answer without its question is only a match as a quotation
            if not touched[0]:
                coverage = 0.0
            if run >= self.ngram or coverage >= self.min_coverage:
                out.append(Hit(int(self.item_bench[it]), int(self.item_row[it]), int(d.min()),
                               int(d.max()) + self.probe, round(coverage, 4)))
        return out


def _cover(starts: np.ndarray, n: int, length: int) -> np.ndarray:
    """0/1 per position of `length`: covered by an n-gram starting at one of `starts`."""
    edge = np.zeros(length + 1, dtype=np.int64)
    np.add.at(edge, starts, 1)
    np.add.at(edge, starts + n, -1)
    return (np.cumsum(edge)[:length] > 0).astype(np.int64)
