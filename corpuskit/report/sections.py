"""The sections of a data run's report: funnel, examples, distributions, shards, configuration."""

from __future__ import annotations

import inspect
import json
import re

from corpuskit.report import svg
from corpuskit.report.load import RunData
from corpuskit.report.page import esc, figure, kpis, num, pct, table
from corpuskit.stats import Histogram, StageStats

KEEP, DROP = svg.PALETTE[0], svg.DROP


def _reasons(s: StageStats) -> list[tuple[str, int]]:
    return sorted(((k[len("dropped_"):], v) for k, v in s.counters.items() if k.startswith("dropped_") and v),
                  key=lambda kv: (-kv[1], kv[0]))


def bytes_per_token(run: RunData) -> float | None:
    return (run.manifest or {}).get("bytes_per_token")


def headline(run: RunData) -> str:
    s = run.summary
    first = next(iter(run.stages.values()), StageStats())
    kept_bytes = list(run.stages.values())[-1].bytes_out if run.stages else 0
    items = [("documents in", num(s.get("documents_in"))), ("documents kept", num(s.get("documents_out"))),
             ("kept share", pct(s.get("documents_out", 0), s.get("documents_in", 0))),
             ("MB in", f"{first.bytes_in / 1e6:,.2f}"), ("MB kept", f"{kept_bytes / 1e6:,.2f}"),
             ("units", num(s.get("units")))]
    if run.manifest:
        items.append(("tokens in shards", num(run.manifest.get("n_tokens"))))
    return kpis(items)


def funnel(run: RunData) -> str:
    bpt = bytes_per_token(run)
    rows, bars = [], []
    total_in = run.summary.get("documents_in", 0)
    for name, s in run.stages.items():
        reasons = _reasons(s)
        dropped = s.dropped
        cell = "<br>".join(f'<span class="reason">{esc(r)}</span> {num(n)} ({pct(n, s.docs_in)})' for r, n in reasons)
        tok = (lambda b: num(b / bpt)) if bpt else (lambda b: "–")
        rows.append([esc(name), num(s.docs_in), num(s.docs_out), num(dropped), pct(dropped, s.docs_in),
                     f"{s.bytes_in / 1e6:,.2f}", f"{s.bytes_out / 1e6:,.2f}", tok(s.bytes_in), tok(s.bytes_out),
                     f"{s.time_s:,.1f}", cell or '<span class="muted">–</span>'])
        bars.append((name, [(s.docs_out, KEEP, f"{name}: {s.docs_out:,} out"),
                            (dropped, DROP, f"{name}: {dropped:,} dropped")]))
    chart = svg.hbars(bars, "documents out of each stage (red: dropped by it)", width=760)
    note = ("Tokens are estimated from bytes at the shard set's measured "
            f"{bpt:.3f} bytes per token." if bpt else "No shard set: token counts are not known.")
    head = ["stage", "docs in", "docs out", "dropped", "dropped %", "MB in", "MB out", "≈ tokens in",
            "≈ tokens out", "time s", "drop reasons (count, share of the stage's input)"]
    return (figure(chart, f"{num(total_in)} documents read; each bar is what a stage passed on.", "funnel")
            + table(head, rows, last_left=True)
            + f'<p class="muted">{esc(note)} Time is summed over units (worker seconds).</p>')


def _example(e: dict) -> str:
    meta = [f"id <span class=\"mono\">{esc(e.get('id'))}</span>"]
    if e.get("source"):
        meta.append(f"source <span class=\"mono\">{esc(e['source'])}</span>")
    meta.append(f"{num(e.get('chars'))} chars")
    for key in ("detail", "duplicate_of"):
        if e.get(key):
            meta.append(f"{key.replace('_', ' ')} <span class=\"mono\">{esc(e[key])}</span>")
    more = "…" if (e.get("chars") or 0) > len(e.get("text", "")) else ""
    return f'<div class="ex"><div class="meta">{" · ".join(meta)}</div><pre>{esc(e.get("text", ""))}{more}</pre></div>'


def _similarity(e: dict) -> str:
    m = re.search(r"=([0-9.]+)", e.get("detail") or "")
    return m.group(1) if m else "?"


def _pairs(run: RunData, items: list[dict]) -> str:
    out = []
    for e in items:
        kept = run.kept_texts.get(e.get("duplicate_of") or "")
        if kept is None:
            continue
        out.append(f'<div class="pair"><div class="ex kept"><div class="meta">kept <span class="mono">'
                   f'{esc(e["duplicate_of"])}</span></div><pre>{esc(kept)}</pre></div>'
                   f'<div class="ex"><div class="meta">removed <span class="mono">{esc(e["id"])}</span> · '
                   f'similarity {esc(_similarity(e))}</div><pre>{esc(e.get("text", ""))}</pre></div></div>')
    return "<h3>near-duplicate pairs: kept and removed</h3>" + "".join(out) if out else ""


def examples(run: RunData) -> str:
    parts = []
    for name, s in run.stages.items():
        for reason, count in _reasons(s):
            box = s.examples.get(reason)
            items = box.items if box else []
            body = "".join(_example(e) for e in items) or '<p class="muted">no examples recorded</p>'
            if "minhash" in reason:
                body = _pairs(run, items) + body
            parts.append(f'<details{" open" if len(parts) < 2 else ""}><summary><b>{esc(name)}</b> · '
                         f'<span class="reason">{esc(reason)}</span> · {num(count)} documents '
                         f'({len(items)} shown)</summary>{body}</details>')
    if not parts:
        return '<p class="muted">Nothing was dropped.</p>'
    return ('<p class="muted">A deterministic sample per reason: the documents whose ids hash lowest, '
            "the same for any number of workers. Texts are cut after 600 characters.</p>" + "".join(parts))


def _hist(s: StageStats | None, name: str) -> Histogram | None:
    return s.hists.get(name) if s is not None else None


def _series(*named: tuple[str, Histogram | None]) -> list:
    return [(label, h.bins()) for label, h in named if h is not None and h.n]


def _param(run: RunData, stage: str, key: str):
    """A stage's parameter as the run used it: from config.json, else the stage's default."""
    for spec in run.config.get("config", {}).get("stages", []):
        if spec["name"] == stage:
            if key in spec.get("params", {}):
                return spec["params"][key]
            try:
                from corpuskit.stages.registry import stage_class

                default = inspect.signature(stage_class(spec["type"])).parameters[key].default
                return None if default is inspect.Parameter.empty else default
            except (KeyError, ValueError, ImportError):
                return None
    return None


def _first_global(run: RunData) -> str | None:
    """The last stage before the first de-duplication stage: where cleaning ends."""
    names = list(run.stages)
    for i, name in enumerate(names):
        if "dedup" in run.stage_types.get(name, "") and i > 0:
            return names[i - 1]
    return None


def distributions(run: RunData) -> str:
    names = list(run.stages)
    if not names:
        return ""
    read, last = run.stages[names[0]], run.stages[names[-1]]
    cleaned_name = _first_global(run)
    cleaned = run.stages.get(cleaned_name) if cleaned_name else None
    dropped_chars = Histogram("log")
    for s in run.stages.values():
        if "dropped:chars" in s.hists:
            dropped_chars.merge(s.hists["dropped:chars"])
    charts = [
        figure(svg.histogram(_series(("read", _hist(read, "out:chars")),
                                     (f"after {cleaned_name}" if cleaned_name else "", _hist(cleaned, "out:chars")),
                                     ("kept", _hist(last, "kept:chars"))),
                             "document length (characters)", "characters (log scale)", log_x=True),
               "Before any stage, after cleaning and as kept.", "chars"),
        figure(svg.histogram(_series(("read", _hist(read, "out:words")), ("kept", _hist(last, "kept:words"))),
                             "document length (words)", "words (log scale)", log_x=True),
               "Whitespace-separated words before any stage and as kept.", "words"),
        figure(svg.histogram(_series(("kept", _hist(last, "kept:chars")), ("dropped", dropped_chars)),
                             "kept and dropped documents by length", "characters (log scale)", log_x=True,
                             density=True), "Shares within each group: what the rules removed, by length.", "dropped"),
    ]
    charts += _metadata_charts(run, last)
    charts += _other_metrics(run, last)
    charts.append(_clusters(run))
    return '<div class="grid">' + "".join(c for c in charts if c) + "</div>"


def _dropped(run: RunData, metric: str, stage_type: str | None = None) -> list[tuple[str, Histogram]]:
    """Each stage's dropped documents' histogram of `metric` (only stages of `stage_type`, if given)."""
    return [(f"dropped by {n}", s.hists[f"dropped:{metric}"]) for n, s in run.stages.items()
            if f"dropped:{metric}" in s.hists and s.hists[f"dropped:{metric}"].n
            and (stage_type is None or run.stage_types.get(n) == stage_type)]


def _metadata_charts(run: RunData, last: StageStats) -> list[str]:
    out = []
    lang_stage = next((n for n, t in run.stage_types.items() if t == "language_filter"), None)
    langs = Histogram("cat")
    for h in [_hist(last, "kept:language")] + [h for _, h in _dropped(run, "language", "language_filter")]:
        if h is not None:
            langs.merge(h)
    if langs.n:
        rows = [(str(label), [(count, KEEP, f"{label}: {count:,}")]) for label, _, count in langs.bins()[:12]]
        out.append(figure(svg.hbars(rows, "language (kept and dropped)", label_width=60),
                          "Best guess per document, where a language stage ran.", "language"))
    score = _hist(last, "kept:language_score")
    dropped = _dropped(run, "language_score", "language_filter")
    if score is not None or dropped:
        m = _param(run, lang_stage, "min_score") if lang_stage else None
        out.append(figure(svg.histogram(_series(("kept", score), *dropped), "language score",
                                        "probability of the best guess", log_y=True,
                                        marker=(m, f"min_score {m}") if m is not None else None),
                          "Kept documents and those dropped for their language.", "language_score"))
    tox = _hist(last, "kept:toxicity")
    if tox is not None or _dropped(run, "toxicity", "toxicity"):
        tox_stage = next((n for n, t in run.stage_types.items() if t == "toxicity"), None)
        t = _param(run, tox_stage, "doc_threshold") if tox_stage else None
        series = _series(("kept", tox), *_dropped(run, "toxicity", "toxicity"))
        out.append(figure(svg.histogram(series, "toxicity score", "document score", log_y=True,
                                        marker=(t, f"threshold {t}") if t is not None else None),
                          "Documents at or above the threshold are dropped (action drop).", "toxicity"))
    return out


def _other_metrics(run: RunData, last: StageStats) -> list[str]:
    """Any other metric recorded from metadata (a stage that keeps its quality figures there)."""
    known = {"chars", "words", "language", "language_score", "toxicity"}
    out = []
    for key, h in sorted(last.hists.items()):
        metric = key.split(":", 1)[1]
        if key.startswith("kept:") and metric not in known and h.kind != "cat":
            out.append(figure(svg.histogram(_series(("kept", h), *_dropped(run, metric)), metric, metric),
                              f"{metric} from document metadata", metric))
    return out


def _clusters(run: RunData) -> str:
    for name, report in run.reports.items():
        sizes = report.get("cluster_sizes")
        if sizes is None:
            continue
        bins = sorted((int(k), int(k) + 1, int(v)) for k, v in sizes.items())
        threshold = report.get("params", {}).get("threshold")
        caption = (f"{num(report.get('clusters', 0))} clusters, {num(report.get('removed', 0))} documents removed "
                   f"of {num(report.get('documents', 0))} ({name}, threshold {threshold})")
        if "rejected_pairs" in report:  # verification and chaining, visible (docs/DEDUP.md)
            caption += (f"; {num(report['rejected_pairs'])} of {num(report.get('candidate_pairs', 0))} candidate "
                        f"pairs below the threshold not linked; {num(report.get('chained_removals', 0))} removed "
                        "through a chain (less similar to the kept document than the threshold)")
        largest = report.get("largest_clusters") or []
        if largest:  # by their kept documents; one far larger than max_cluster_size is flagged
            caption += "; largest: " + ", ".join(
                f"{num(c['size'])} documents kept as {_kept_id(c)}"
                + (" (over max_cluster_size)" if c.get("giant") else "") for c in largest[:3])
        chart = svg.histogram([("clusters", bins)], "near-duplicate cluster sizes", "documents in the cluster")
        if not chart:  # no clusters: an empty axis says so plainly
            chart = svg.histogram([("clusters", [(2, 3, 0)])], "near-duplicate cluster sizes (none found)",
                                  "documents in the cluster")
        return figure(chart, caption, "clusters") + _largest_clusters(largest)
    return ""


def _kept_id(cluster: dict) -> str:
    kept = cluster.get("kept")
    return kept.get("id", "?") if isinstance(kept, dict) else cluster.get("keeper", "?")  # before: the id alone


def _largest_clusters(largest: list[dict]) -> str:
    """The largest near-duplicate clusters, each with the start of its kept document and of a few
    removed members (reports/<stage>.json, `largest_clusters`)."""
    def doc(d: dict, label: str, kept: bool) -> str:
        text = d.get("text")
        if text is None:  # a kept document from the persistent index (earlier runs)
            body = '<span class="muted">no text kept (a document of the index)</span>'
        else:
            body = esc(text) + ("…" if (d.get("chars") or 0) > len(text) else "")
        return (f'<div class="ex{" kept" if kept else ""}"><div class="meta">{label} <span class="mono">'
                f'{esc(d.get("id"))}</span> · {num(d.get("chars"))} chars</div><pre>{body}</pre></div>')

    parts = []
    for c in largest:
        if not isinstance(c.get("kept"), dict):
            continue
        head = (f'{num(c.get("size"))} documents, {num(c.get("removed"))} removed, kept '
                f'<span class="mono">{esc(c["kept"].get("id"))}</span>'
                + (' · <span class="reason">over max_cluster_size</span>' if c.get("giant") else ""))
        docs = [doc(c["kept"], "kept", True)] + [doc(m, f'removed (similarity {esc(m.get("similarity"))})', False)
                                                 for m in c.get("examples", [])]
        parts.append(f'<details{" open" if not parts else ""}><summary>{head}</summary>'
                     f'<div class="pair">{"".join(docs)}</div></details>')
    return "<h3>largest near-duplicate clusters</h3>" + "".join(parts) if parts else ""


def decontamination(run: RunData) -> str:
    """Per benchmark, the items a `decontaminate` stage found and in how many documents."""
    out = []
    for name, report in run.reports.items():
        if "documents_contaminated" not in report:
            continue
        benchmarks = report.get("benchmarks", {})
        rows = [[esc(b), num(r.get("items")), num(r.get("items_found")), num(r.get("items_unfindable")),
                 num(r.get("documents"))] for b, r in benchmarks.items()]
        places = [[esc(b), esc(item), num(e.get("documents")),
                   esc(", ".join(f"{w.get('id')} [{w.get('start')}:{w.get('end')}]" for w in e.get("where", [])[:3]))]
                  for b, r in benchmarks.items() for item, e in r.get("found", {}).items()][:200]
        out.append(kpis([("documents with an eval item", num(report.get("documents_contaminated"))),
                         ("action", esc(report.get("action"))), ("stage", esc(name))])
                   + table(["benchmark", "items", "found", "unfindable", "documents"], rows)
                   + f"<details><summary>items found ({len(places)} shown) and where</summary>"
                   + table(["benchmark", "item", "documents", "first places (id [characters])"], places,
                           left=2, last_left=True) + "</details>")
    return "".join(out)


def shards(run: RunData) -> str:
    m = run.manifest
    if not m:
        return ""
    splits = m.get("splits", {})
    rows = [[esc(s), num(d.get("n_documents")), num(d.get("n_tokens")), f"{d.get('n_bytes', 0) / 1e6:,.2f}",
             f"{d.get('bytes_per_token', 0):.3f}", num(len(d.get("shards", [])))] for s, d in splits.items()]
    tok_chart = svg.hbars([(s, [(d.get("n_tokens", 0), svg.PALETTE[i], f"{s}: {d.get('n_tokens', 0):,} tokens")])
                           for i, (s, d) in enumerate(splits.items())], "tokens per split", label_width=90)
    per_shard = [(e["file"], e.get("n_documents", 0), e.get("n_tokens", 0), e.get("sha256", ""))
                 for d in splits.values() for e in d.get("shards", [])]
    doc_chart = svg.histogram([("documents", [(i, i + 1, n) for i, (_, n, _, _) in enumerate(per_shard)])],
                              "documents per shard", "shard (train, then validation, then test)")
    sums = table(["file", "documents", "tokens", "sha256"],
                 [[f'<span class="mono">{esc(f)}</span>', num(n), num(t), f'<span class="mono">{esc(h)}</span>']
                  for f, n, t, h in per_shard])
    tok = m.get("tokenizer", {})
    info = [("vocabulary", num(tok.get("vocab_size"))), ("dtype", esc(m.get("dtype"))),
            ("bytes per token", f"{m.get('bytes_per_token', 0):.3f}"), ("documents", num(m.get("n_documents"))),
            ("tokens", num(m.get("n_tokens")))]
    if run.tokenizer:
        info.append(("tokenizer trained on MB", f"{run.tokenizer.get('n_bytes', 0) / 1e6:,.1f}"))
    return (kpis(info) + table(["split", "documents", "tokens", "MB", "bytes/token", "shards"], rows)
            + '<div class="grid">' + figure(tok_chart, "", "tokens") + figure(doc_chart, "", "shard_docs") + "</div>"
            + f"<details><summary>manifest checksums ({len(per_shard)} shards; tokenizer sha256 "
              f'<span class="mono">{esc(tok.get("sha256"))}</span>)</summary>{sums}</details>')


def configuration(run: RunData) -> str:
    cfg = run.config
    bars = [(n, [(s.time_s, svg.PALETTE[4], f"{n}: {s.time_s:.2f} s")]) for n, s in run.stages.items()]
    info = [("corpuskit", esc(run.version)), ("units", num(len(cfg.get("units", []))))]
    if run.manifest and run.manifest.get("created_by"):
        info.append(("shards made by", esc(run.manifest["created_by"])))
    return (kpis(info) + f'<p>fingerprint <span class="mono">{esc(cfg.get("fingerprint"))}</span></p>'
            + figure(svg.hbars(bars, "time per stage (seconds, summed over units)", width=760), "", "timings")
            + "<details><summary>resolved configuration (config.json)</summary>"
            + f'<pre class="cfg">{esc(json.dumps(cfg.get("config", {}), indent=2))}</pre></details>')
