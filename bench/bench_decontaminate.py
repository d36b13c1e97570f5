"""Benchmark: benchmark decontamination on a planted set, against plain n-gram matchers.

Data (read from ../shared/corpora; one line and exit 0 when it is missing):
- eval items: the 18 llm-foundry task files of shared/corpora/eval (52,237 items). Per split,
  ~5% of each benchmark's items (in groups: items that open with the same words, like the
  LSAT questions on one passage or WinoGrande's twin sentences, go together) are held out:
  they are left out of the index and planted in clean documents, as "benchmark-like text
  that is in none of the eval files".
- documents: ~3,000-character book chunks (shared/corpora/gutenberg) and web pages.
  dev  (seed 1, tunes the thresholds): the even-numbered books + C4 pages.
  test (seed 2, the figures to quote): the odd-numbered books + HPLT, OpenStax and the
       main text of the dev/html pages. No book or page is in both.
- planted: an indexed item rendered as the task would show it (query + gold choice, context +
  continuation, the gold context option + continuation) and inserted at a paragraph break,
  as: full; format (whitespace, case, punctuation changed); words (1 word in 15, at most 3,
  replaced, plus format changes; items of 15+ words); question (query or context only, no
  answer); question+format. Planted texts under 8 words are not used (nothing can tell
  them from ordinary text), nor bigbench_dyck_languages, whose items are brackets and a
  prompt template (no words but the template's).

Figures: caught (contaminated documents found), clean touched (documents without a planted
indexed item that were found; those with a held-out item counted apart), with `cut` the
share of planted items removed and of the other text kept; throughput of the stage's search
over the test documents in 2 worker processes, and end to end (`run_pipeline`, 2 workers,
JSONL in and out) with all 52,237 items indexed; the index's size and build time. The two
baselines are document matchers that flag any shared n-gram (13 words, then 8; no
max_items), built from the same code with those settings.

    python bench/bench_decontaminate.py            # dev and test, full size
    python bench/bench_decontaminate.py --quick    # a fifth of the documents
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
sys.path.insert(0, str(REPO))

from corpuskit.stages.decontaminate.evalsets import read_eval_sets  # noqa: E402
from corpuskit.stages.decontaminate.index import Index, build, save  # noqa: E402
from corpuskit.stages.decontaminate.stage import Decontaminate, cut_spans, widen  # noqa: E402
from corpuskit.stages.decontaminate.text import ngram_hashes, word_hashes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _decontaminate_data import NGRAM, VARIANTS, eval_rows, hold_out, planted_set  # noqa: E402


# -- measuring -------------------------------------------------------------------------------
def strings(value) -> list[str]:
    """Every string of an eval row, each alone (a 13-gram never spans two fields)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def natural_overlap(texts: list[str], indexed: dict, n: int = NGRAM) -> list[bool]:
    """Per text: whether it shares `n` words in a row with one string of an indexed eval item.

    An exact check that shares no code with the stage: words are Python's `\\w+` over
    `str.casefold()`, an n-gram is a tuple of words; a hash of it only picks candidates, each
    confirmed by comparing the words themselves."""
    def grams(text: str) -> list[tuple[str, ...]]:
        ws = re.findall(r"\w+", text.casefold())
        return [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]

    where: dict[int, list[int]] = {}
    for k, t in enumerate(texts):
        for g in set(grams(t)):
            where.setdefault(hash(g), []).append(k)
    hit = [False] * len(texts)
    for rows in indexed.values():
        for row in rows:
            for text in strings(row):
                for g in grams(text):
                    for k in where.get(hash(g), ()):
                        if not hit[k] and g in set(grams(texts[k])):
                            hit[k] = True
    return hit


def make_index(indexed: dict, workdir: Path, probe: int, ngram: int, min_coverage: float, max_items: int,
               min_words: int) -> Index:
    evaldir = workdir / "eval"
    if not evaldir.exists():
        evaldir.mkdir(parents=True)
        for name, rows in indexed.items():
            (evaldir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sets = read_eval_sets([str(evaldir)])
    folder = workdir / f"index-{probe}-{max_items}"
    if not folder.exists():
        save(folder, build(sets, probe, max_items), {"benchmarks": [s.name for s in sets]})
    return Index(folder, probe, ngram, min_coverage, min_words)


def plain_matcher(indexed: dict, work: Path, n: int):
    """A document matcher that flags any n-gram of any item (no template filter, no coverage)."""
    idx = make_index(indexed, work, n, n, 2.0, 10**9, 1)

    def search(hashes: np.ndarray) -> list:
        h, _ = ngram_hashes(hashes, n)
        found = np.searchsorted(idx.keys, h)
        return [True] if (idx.keys[np.minimum(found, len(idx.keys) - 1)] == h).any() else []
    return search


def score(data: dict, idx, stage: Decontaminate | None = None) -> dict:
    """Documents flagged per kind (and per variant, and missed per benchmark); with `stage`, what
    `cut` removes from each contaminated document. `idx`: an Index, or a search function."""
    search = idx.search if isinstance(idx, Index) else idx
    hits = [search(word_hashes(d)) for d in data["docs"]]
    kinds, variants = data["kind"], data["variant"]
    res = {k: (sum(bool(h) for h, kk in zip(hits, kinds) if kk == k), kinds.count(k))
           for k in ("contaminated", "like", "clean")}
    res["by_variant"] = {}
    for v in VARIANTS:
        mine = [bool(h) for h, vv, kk in zip(hits, variants, kinds) if vv == v and kk == "contaminated"]
        res["by_variant"][v] = (sum(mine), len(mine))
    missed: dict[str, int] = {}
    for h, k, b in zip(hits, kinds, data["bench"]):
        if k == "contaminated" and not h:
            missed[b] = missed.get(b, 0) + 1
    res["missed_by_benchmark"] = missed
    # clean documents touched only by a run of `ngram` words (a quotation the eval item quotes too)
    res["touched_by_run_only"] = None if search is idx else sum(
        1 for h, k in zip(hits, kinds) if k != "contaminated" and h and all(x.coverage < idx.min_coverage for x in h))
    # documents without a planted indexed item, split by whether they share a true 13-gram with one
    natural = data["natural"]
    res["natural"] = {has: (sum(bool(h) for h, k, nat in zip(hits, kinds, natural) if k != "contaminated" and nat == has),
                            sum(1 for k, nat in zip(kinds, natural) if k != "contaminated" and nat == has))
                      for has in (True, False)}
    if stage is not None:  # cut: planted item removed, and the rest of the document kept
        removed = n = too_short = 0
        kept = 0.0
        for d, k, span in zip(data["docs"], kinds, data["span"]):
            if k != "contaminated":
                continue
            n += 1
            found = stage.find(d, idx)
            cuts = widen(d, [(f["start"], f["end"]) for f in found], stage.margin)
            gone = np.zeros(len(d) + 1, dtype=np.int64)
            for x, y in cuts:
                gone[x] += 1
                gone[y] -= 1
            gone = np.cumsum(gone)[:-1] > 0
            a, b = span
            item_chars = np.array([not c.isspace() for c in d[a:b]])
            if item_chars.any() and gone[a:b][item_chars].mean() >= 0.9:
                removed += 1
            other = len(d) - (b - a)
            kept += (other - gone[:a].sum() - gone[b:].sum()) / other
            left = cut_spans(d, [(f["start"], f["end"]) for f in found], stage.margin) if found else d
            too_short += len(left.strip()) < stage.min_chars
        res["cut_removed"] = (removed, n)
        res["cut_kept_other_text"] = kept / n
        res["cut_too_short"] = too_short
    return res


def show(label: str, r: dict) -> None:
    c, like, clean = r["contaminated"], r["like"], r["clean"]
    touched = (like[0] + clean[0], like[1] + clean[1])
    print(f"{label}: caught {c[0]}/{c[1]} = {100 * c[0] / c[1]:.2f}%; clean touched {touched[0]}/{touched[1]} = "
          f"{100 * touched[0] / touched[1]:.3f}% (plain pages {clean[0]}/{clean[1]}, with a held-out item "
          f"{like[0]}/{like[1]}" + ("" if r["touched_by_run_only"] is None else
                                    f"; by a {NGRAM}-word run alone {r['touched_by_run_only']}") + ")")
    (a, b), (x, y) = r["natural"][True], r["natural"][False]
    print(f"    of them: sharing a true {NGRAM}-gram with an indexed item (an exact check) {a}/{b} touched; "
          f"with no such overlap {x}/{y} = {100 * x / max(y, 1):.3f}% touched")
    print("    by variant: " + ", ".join(f"{v} {a}/{b}" for v, (a, b) in r["by_variant"].items()))
    if r["missed_by_benchmark"]:
        print(f"    missed by benchmark: {r['missed_by_benchmark']}")
    if "cut_removed" in r:
        a, b = r["cut_removed"]
        print(f"    cut: planted item removed (>= 90% of its characters) in {a}/{b} = {100 * a / b:.2f}%; "
              f"other text kept {100 * r['cut_kept_other_text']:.1f}% on average; {r['cut_too_short']} "
              "documents left too short (dropped)")


def _worker_init(folder: str, probe: int, ngram: int, min_cov: float, min_words: int) -> None:
    global _IDX
    _IDX = Index(Path(folder), probe, ngram, min_cov, min_words)


def _search_all(docs: list[str]) -> int:
    """What the stage does: a batch of documents hashed and searched at once."""
    return sum(sum(map(bool, _IDX.search_many(docs[i:i + 256])[0])) for i in range(0, len(docs), 256))


def throughput(docs: list[str], tmp: Path, stage: Decontaminate) -> None:
    t0 = time.perf_counter()
    idx = stage.eval_index(tmp)
    build_s = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in idx.folder.iterdir())
    print(f"index of {sum(len(s.items) for s in stage.sets)} items: {len(idx.row_item)} n-grams ({len(idx.keys)} distinct), "
          f"{idx.meta['dropped_ngrams']} left out (in > {stage.max_items} items); "
          f"built in {build_s:.1f}s; {disk / 1e6:.1f} MB on disk, ~{idx.memory_bytes() / 1e6:.1f} MB in memory "
          "(arrays memory-mapped and shared, and a 16 MiB filter per process)")
    mb = sum(len(d.encode()) for d in docs) / 1e6
    halves = [docs[0::2], docs[1::2]]
    ctx = multiprocessing.get_context("fork")
    settings = (str(idx.folder), stage.probe, stage.ngram, stage.min_coverage, stage.min_words)
    with ctx.Pool(2, _worker_init, settings) as pool:
        pool.map(_search_all, [docs[:10], docs[10:20]])  # the workers have loaded the index
        t0 = time.perf_counter()
        pool.map(_search_all, halves)
        dt = time.perf_counter() - t0
    print(f"search, 2 worker processes: {mb:.1f} MB in {dt:.2f}s = {mb / dt:.1f} MB/s")
    from corpuskit.presets import command_pipeline
    from corpuskit.runner import run_pipeline

    for copies in (2, 8):  # the test documents twice (~24 MB) and 8 times: the fixed costs, and the rate
        inp = tmp / f"input-{copies}"
        inp.mkdir()
        for k in range(8):
            (inp / f"docs-{k}.jsonl").write_text("".join(json.dumps({"id": f"{c}-{i}", "text": d}) + "\n"
                                                         for c in range(copies) for i, d in enumerate(docs[k::8])))
        params = {"eval": stage.entries, "action": "drop"}
        cfg = command_pipeline(str(inp), str(tmp / f"out-{copies}"), [{"decontaminate": params}], "jsonl")
        t0 = time.perf_counter()
        stats = run_pipeline(cfg, workers=2, quiet=True)
        dt = time.perf_counter() - t0
        s = stats["decontaminate"]
        print(f"end to end (run_pipeline, 2 workers, JSONL in and out, 8 files, one pass, the index built in "
              f"the run): {copies * mb:.1f} MB in {dt:.2f}s = {copies * mb / dt:.1f} MB/s; without the index "
              f"build ({build_s:.1f}s, once per run, before the pass): "
              f"{copies * mb / (dt - build_s):.1f} MB/s; {s.counters.get('dropped_contaminated', 0)} dropped")
    copies, inp = 2, tmp / "input-2"
    # the runner's cost of a global stage (read, intermediate pass, write) on the same input, for scale
    ref = command_pipeline(str(inp), str(tmp / "ref"), [{"exact_dedup": {}}], "jsonl")
    t0 = time.perf_counter()
    run_pipeline(ref, workers=2, quiet=True)
    dt = time.perf_counter() - t0
    print(f"reference, exact_dedup through the same runner on the same input: {copies * mb / dt:.1f} MB/s")


def tune(data: dict, work: Path, probe: int, ngram: int, max_items: int) -> None:
    """Caught and touched on the dev split over a grid of min_coverage and min_words."""
    print("min_coverage min_words: caught, clean touched")
    for min_words in (6, 7, 8):
        for min_cov in (0.5, 0.6, 0.7, 0.8):
            r = score(data, make_index(data["indexed"], work, probe, ngram, min_cov, max_items, min_words))
            touched = r["like"][0] + r["clean"][0], r["like"][1] + r["clean"][1]
            print(f"{min_cov:.1f} {min_words:2d}: {100 * r['contaminated'][0] / r['contaminated'][1]:.2f}%, "
                  f"{100 * touched[0] / touched[1]:.3f}% ({touched[0]}; {r['missed_by_benchmark']})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a fifth of the documents")
    ap.add_argument("--tune", action="store_true", help="only the dev split, over a grid of thresholds")
    args = ap.parse_args()
    if not (SHARED / "eval").is_dir():
        print(f"bench_decontaminate: {SHARED / 'eval'} not found; skipped")
        return
    scale = 0.2 if args.quick else 1.0
    from corpuskit.schema import signature_types

    defaults = {name: p.default for name, p in signature_types(Decontaminate).items()}
    keys = ("probe", "ngram", "min_coverage", "max_items", "min_words")
    probe, ngram, min_cov, max_items, min_words = (defaults[k] for k in keys)
    print("decontaminate settings: " + ", ".join(f"{k} {defaults[k]}" for k in keys))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for split, seed in (("dev", 1), ("test", 2)):
            work = tmp / split
            indexed, held = hold_out(eval_rows(), seed)
            idx = make_index(indexed, work, probe, ngram, min_cov, max_items, min_words)
            findable = {(idx.benchmarks[b], r) for b, r, n in zip(idx.item_bench.tolist(), idx.item_row.tolist(),
                        np.add.reduceat(np.asarray(idx.coverable, dtype=np.int64), idx.item_offset[:-1]).tolist()) if n}
            data = planted_set(split, seed, scale, indexed, held, findable)
            data["indexed"] = indexed
            data["natural"] = natural_overlap([d if k != "contaminated" else "" for d, k in
                                               zip(data["docs"], data["kind"])], indexed)
            if args.tune:
                tune(data, work, probe, ngram, max_items)
                return
            mb = sum(len(d) for d in data["docs"]) / 1e6
            unfindable = sum(len(rows) for rows in indexed.values()) - len(findable)
            print(f"\n== {split} (seed {seed}): {len(data['docs'])} documents, {mb:.1f} M characters; "
                  f"{unfindable} indexed items have no word outside a template and are not planted")
            stage = Decontaminate(eval=[str(work / "eval")], action="cut")
            show("corpuskit decontaminate", score(data, idx, stage))
            if split == "test":
                for n in (13, 8):
                    show(f"plain {n}-gram matcher", score(data, plain_matcher(data["indexed"], work, n)))
                print()
                throughput(data["docs"], tmp / "speed", Decontaminate(eval=[str(SHARED / "eval")]))


if __name__ == "__main__":
    main()
