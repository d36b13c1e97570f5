"""Benchmark: MinHash near-dedup, corpuskit vs the datasketch loop its docs suggest.

Data: real prose from the embedded corpus (corpus/*.txt.gz, read with corpuskit's readers,
~2,000-character documents) with planted near duplicates placed after their source:
exact copies, random word insertions / deletions / substitutions at 1-8 %, boilerplate
prefixes and suffixes, and combinations. Ground truth is the exact 5-gram Jaccard of each
planted document to its source.

Larger corpora (4x, 16x) add "cipher copies" of the base: every word passes through a
seeded permutation of the vocabulary, so copies keep prose statistics but share no
5-grams with each other; each copy gets its own planted duplicates.

The baseline is what a competent datasketch user writes: `MinHash.bulk` (shared
permutations, `update_batch`) over the same word 5-gram shingles, signatures computed in a
`multiprocessing.Pool` with the same number of processes as corpuskit (and with 1), then
`MinHashLSH` query-then-insert in input order. Imports are outside the clock for both.

Figures: recall (planted duplicates with Jaccard >= 0.8 that were removed), false removals
(original documents removed), throughput end to end (input MB / wall s), CPU seconds (user +
system of the process and its workers, inside the clock), peak RSS of the parent
(RUSAGE_SELF) and of the largest worker (RUSAGE_CHILDREN). Each measurement runs in a fresh
subprocess so memory figures are its own. The speed ratios are per round, of wall time and
of CPU time.

    python bench/bench_dedup.py            # 1x (5 alternating rounds), 8x (~100 MB), and 1x, 16x of a quarter base
    python bench/bench_dedup.py --quick    # 1x only
    python bench/bench_dedup.py --rounds 3 # fewer rounds of the 1x comparison

A forked worker's peak RSS includes the pages it shares with the parent (the imported modules).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOILERPLATE = [
    "Subscribe to our newsletter for more stories like this one.",
    "This article was originally published on our website. All rights reserved.",
    "Click here to read more. Share this page with your friends!",
    "Advertisement",
    "Posted in Fiction | Leave a comment",
]


# -- data ----------------------------------------------------------------------------------
def base_documents() -> list[str]:
    from corpuskit.readers import ReaderConfig, list_sources, read_source

    cfg = ReaderConfig(glob="*.txt.gz", text_mode="paragraphs", target_chars=2000)
    docs = []
    for src in list_sources(REPO / "corpus", cfg.glob):
        docs += [d.text for d in read_source(src, cfg, lambda *a, **k: None) if len(d.text.split()) >= 20]
    return docs


def cipher(texts: list[str], seed: int) -> list[str]:
    """Map every word through a seeded vocabulary permutation (copy 0 is the identity)."""
    if seed == 0:
        return texts
    vocab = sorted({w for t in texts for w in re.findall(r"[A-Za-z]+", t)})
    shuffled = vocab[:]
    random.Random(seed).shuffle(shuffled)
    table = dict(zip(vocab, shuffled))
    return [re.sub(r"[A-Za-z]+", lambda m: table[m.group(0)], t) for t in texts]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """A planted near duplicate of `text` and the kind of change."""
    kind = rng.choice(["exact", "edits", "edits", "edits", "boilerplate", "edits+boilerplate"])
    if kind == "exact":
        return text, kind
    words = text.split()
    if "edits" in kind:
        rate = rng.choice([0.01, 0.02, 0.03, 0.05, 0.08])
        out = []
        for w in words:
            r = rng.random()
            if r < rate / 3:
                continue  # deletion
            if r < 2 * rate / 3:
                out.append(rng.choice(words))  # substitution
                continue
            out.append(w)
            if r < rate:
                out.append(rng.choice(words))  # insertion
        words = out
        kind = f"{kind}@{rate:.0%}"
    text = " ".join(words)
    if "boilerplate" in kind:
        text = rng.choice(BOILERPLATE) + "\n\n" + text + "\n\n" + rng.choice(BOILERPLATE)
    return text, kind


def jaccard5(a: str, b: str) -> float:
    from corpuskit.stages.dedup.shingles import normalize_words

    def grams(t):
        w = normalize_words(t)
        return {tuple(w[i:i + 5]) for i in range(max(len(w) - 4, 1))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb)


def build(out: Path, base: list[str], scale: int, plant_rate: float = 0.1, n_files: int = 8) -> dict:
    """Write the corpus as jsonl files plus truth.json; returns the truth summary."""
    rng = random.Random(scale)
    stream: list[tuple[str, str]] = []
    planted: dict[str, dict] = {}
    originals: list[str] = []
    for copy in range(scale):
        texts = cipher(base, copy)
        docs = [(f"c{copy}-d{i}", t) for i, t in enumerate(texts)]
        originals += [d for d, _ in docs]
        extra: list[tuple[int, tuple[str, str]]] = []
        for i in rng.sample(range(len(docs)), int(plant_rate * len(docs))):
            text, kind = mutate(docs[i][1], rng)
            pid = f"c{copy}-p{i}"
            planted[pid] = {"source": docs[i][0], "kind": kind, "jaccard": jaccard5(docs[i][1], text)}
            extra.append((rng.randint(i + 1, len(docs)), (pid, text)))  # somewhere after its source
        extra.sort(key=lambda e: e[0])
        merged, j = [], 0
        for pos, doc in enumerate(docs + [None]):
            while j < len(extra) and extra[j][0] == pos:
                merged.append(extra[j][1])
                j += 1
            if doc is not None:
                merged.append(doc)
        stream += merged
    out.mkdir(parents=True)
    size = 0
    per = -(-len(stream) // n_files)
    for f in range(n_files):
        chunk = stream[f * per:(f + 1) * per]
        with open(out / f"part-{f:03d}.jsonl", "w", encoding="utf-8") as fh:
            for doc_id, text in chunk:
                fh.write(json.dumps({"id": doc_id, "text": text}) + "\n")
                size += len(text.encode("utf-8"))
    truth = {"planted": planted, "originals": originals, "bytes": size, "docs": len(stream)}
    (out.parent / f"truth-{out.name}.json").write_text(json.dumps(truth))
    return truth


# -- the two contenders (each run in its own subprocess) --------------------------------------
def run_corpuskit(inp: Path, out: Path, workers: int) -> tuple[set[str], float]:
    from corpuskit.pipeline import parse_pipeline
    from corpuskit.runner import run_pipeline

    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": [{"minhash_dedup": {}}]})
    run_pipeline(cfg, workers=workers, quiet=True, force=True)
    wall = time.perf_counter() - T0
    PEAK["self_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    PEAK["cpu_s"] = _cpu_seconds() - CPU0
    import pyarrow.parquet as pq  # after the clock and the memory reading: it imports pandas (+60 MB)

    removed = set()
    for p in (out / "rejected").glob("*.parquet"):
        t = pq.read_table(p, columns=["id", "reason"])
        removed |= {i for i, r in zip(t["id"].to_pylist(), t["reason"].to_pylist()) if r == "minhash_duplicate"}
    return removed, wall


def _datasketch_signatures(path: str) -> tuple[list[str], list, str]:
    """One file's MinHash signatures, as datasketch's docs suggest: `MinHash.bulk` (shared
    permutations, `update_batch` per document) over word 5-gram shingle sets."""
    from datasketch import MinHash

    from corpuskit.stages.dedup.shingles import normalize_words

    ids, sets = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            words = normalize_words(rec["text"])
            ids.append(rec["id"])
            sets.append([" ".join(words[i:i + 5]).encode("utf-8") for i in range(max(len(words) - 4, 1))])
    minhashes = MinHash.bulk(sets, num_perm=112)
    return ids, [m.hashvalues for m in minhashes], minhashes[0].scheme if minhashes else "affine32"


def run_datasketch(inp: Path, workers: int) -> tuple[set[str], float]:
    """The fair baseline: signatures in `workers` processes (a multiprocessing Pool over the
    files, as a user would write it), then MinHashLSH query-then-insert in input order."""
    import multiprocessing as mp

    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=112, params=(14, 8))
    removed = set()
    paths = [str(p) for p in sorted(inp.glob("*.jsonl"))]
    pool = mp.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        results = pool.imap(_datasketch_signatures, paths) if pool else map(_datasketch_signatures, paths)
        for ids, sigs, scheme in results:
            for doc_id, hv in zip(ids, sigs):
                m = MinHash(num_perm=112, hashvalues=hv, scheme=scheme)
                if lsh.query(m):
                    removed.add(doc_id)
                else:
                    lsh.insert(doc_id, m)
    finally:
        if pool:
            pool.close()
            pool.join()
    return removed, time.perf_counter() - T0


T0 = time.perf_counter()
CPU0 = 0.0
PEAK: dict[str, float] = {}


def measure(which: str, inp: Path, workers: int) -> None:
    global T0, CPU0
    # Imports outside the clock, for both contenders.
    import datasketch  # noqa: F401

    import corpuskit.runner  # noqa: F401
    import corpuskit.stages.dedup.minhash  # noqa: F401

    CPU0 = _cpu_seconds()
    T0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if which == "corpuskit":
            removed, wall = run_corpuskit(inp, Path(tmp) / "out", workers)
        else:
            removed, wall = run_datasketch(inp, workers)
    cpu = PEAK.get("cpu_s") or _cpu_seconds() - CPU0
    self_kb = PEAK.get("self_kb") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "cpu": cpu, "self_mb": self_kb / 1024, "child_mb": child_kb / 1024,
                      "removed": sorted(removed)}))


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (both contenders' workers
    are joined inside the clock): the work done, which a CPU shared with other jobs does not
    inflate the way it inflates wall time."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def score(truth: dict, removed: set[str]) -> dict:
    planted = truth["planted"]
    high = [p for p, t in planted.items() if t["jaccard"] >= 0.8]
    missed = [p for p in high if p not in removed]
    return {
        "recall": (len(high) - len(missed)) / max(len(high), 1),
        "n_high": len(high),
        "false": sum(1 for d in truth["originals"] if d in removed),
        "low_removed": sum(1 for p, t in planted.items() if t["jaccard"] < 0.8 and p in removed),
        "n_low": sum(1 for t in planted.values() if t["jaccard"] < 0.8),
        "missed_jaccard": sorted(round(planted[p]["jaccard"], 3) for p in missed)[:8],
    }


def contender(which: str, inp: Path, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--measure", which, "--input", str(inp), "--workers", str(workers)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1x only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds of the 1x comparison")
    ap.add_argument("--measure", choices=["corpuskit", "datasketch"])
    ap.add_argument("--build", help="internal: write one plan's corpus (label:scale:fraction)")
    ap.add_argument("--input")
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, Path(args.input), args.workers)
        return
    if args.build:
        _, scale, fraction = args.build.split(":")
        base = base_documents()
        build(Path(args.input), base[: int(len(base) * float(fraction))], int(scale))
        return

    # This process stays small and only orchestrates: Linux keeps ru_maxrss across fork+exec,
    # so a measuring subprocess would otherwise report this process's peak as its own.
    plans = [("1x", 1, 1.0, True)]
    if not args.quick:
        # 16x of the full corpus would take ~10 minutes here; a quarter base keeps it short,
        # and its own 1x row shows how memory grows over the 16-fold size.
        plans += [("8x", 8, 1.0, False), ("1x/4", 1, 0.25, False), ("16x/4", 16, 0.25, False)]
    print(f"base: the embedded corpus ({REPO / 'corpus'}), ~2,000-character documents; "
          f"10% planted near duplicates per copy; workers={args.workers}")
    print(f"{'corpus':<8}{'tool':<15}{'MB':>7}{'docs':>8}{'wall s':>8}{'cpu s':>7}{'MB/s':>7}{'rss MB':>8}{'worker MB':>10}"
          f"{'recall':>8}{'false':>6}{'J<0.8 rm':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, scale, fraction, with_naive in plans:
            inp = Path(tmp) / label.replace("/", "_")
            subprocess.run([sys.executable, __file__, "--build", f"{label}:{scale}:{fraction}", "--input", str(inp)],
                           check=True, cwd=REPO)
            truth = json.loads((inp.parent / f"truth-{inp.name}.json").read_text())
            mb = truth["bytes"] / 1e6
            rows = [("corpuskit", args.workers)]
            if with_naive:
                rows += [("datasketch", 1), ("datasketch", args.workers)]
            walls: dict = {}
            cpus: dict = {}
            # Rounds alternate the contenders, so that load from other processes hits them alike;
            # each row prints its first round, the ratios use every round.
            for rnd in range(args.rounds if with_naive else 1):
                for which, workers in rows:
                    r = contender(which, inp, workers)
                    walls.setdefault((which, workers), []).append(r["wall"])
                    cpus.setdefault((which, workers), []).append(r["cpu"])
                    if rnd == 0:
                        _print_row(label, which, workers, mb, truth, r)
            if with_naive:
                for which, workers in rows[1:]:
                    for what, runs in (("wall", walls), ("CPU", cpus)):
                        ours, theirs = runs[("corpuskit", args.workers)], runs[(which, workers)]
                        ratios = sorted(b / o for b, o in zip(theirs, ours))
                        print(f"{'':<8}  corpuskit vs datasketch/{workers}w, {what} per round ({len(ratios)}): "
                              f"min {ratios[0]:.2f}x, median {statistics.median(ratios):.2f}x, max {ratios[-1]:.2f}x "
                              f"(corpuskit {min(ours):.2f}-{max(ours):.2f} s, datasketch "
                              f"{min(theirs):.2f}-{max(theirs):.2f} s)")
            del truth
    print("recall: planted duplicates with 5-gram Jaccard >= 0.8 removed; false: original documents removed;\n"
          "J<0.8 rm: planted near duplicates below 0.8 that were removed anyway; 'worker MB' is the largest\n"
          "worker process (RUSAGE_CHILDREN), 'rss MB' the parent (RUSAGE_SELF; reduce runs there). Rows '/4'\n"
          "use a quarter of the corpus as their base. Wall time includes starting workers; 'cpu s' is user +\n"
          "system CPU of the process and its workers inside the clock (imports excluded), which other jobs on\n"
          "a shared machine inflate less than wall time.")


def _print_row(label, which, workers, mb, truth, r):
    which = f"{which}/{workers}w"
    s = score(truth, set(r["removed"]))
    print(f"{label:<8}{which:<15}{mb:>7.1f}{truth['docs']:>8}{r['wall']:>8.1f}{r['cpu']:>7.1f}{mb / r['wall']:>7.2f}"
          f"{r['self_mb']:>8.0f}{r['child_mb']:>10.0f}{s['recall']:>8.3f}{s['false']:>6}"
          f"{s['low_removed']:>5}/{s['n_low']:<4}", flush=True)
    if s["missed_jaccard"]:
        print(f"{'':<8}  missed planted duplicates (Jaccard): {s['missed_jaccard']} of {s['n_high']}")


if __name__ == "__main__":
    main()
