"""An ablation's comparison (each variant against the first, with the seed noise) and its HTML page."""

from __future__ import annotations

import html

from corpuskit.io import atomic_write_text


def _spread(variant: dict, metric: str) -> float:
    values = [s["heldout"][metric] for s in variant["seeds"]]
    return max(values) - min(values)


def compare(variants: list[dict]) -> list[dict]:
    """Each variant after the first against the first (the baseline), per held-out domain and on
    the mean: the difference in bits per byte (negative: the variant is better), the seed noise
    (the larger spread, max - min over seeds, of the two variants) and a verdict. With one seed
    there is no noise estimate, and the verdict says so."""
    if len(variants) < 2:
        return []
    base = variants[0]
    out = []
    for v in variants[1:]:
        rows = {}
        for metric in base["heldout"]:
            diff = round(v["heldout"][metric] - base["heldout"][metric], 5)
            if len(v["seeds"]) < 2:
                noise, verdict = None, "one seed: no noise estimate"
            else:
                noise = round(max(_spread(v, metric), _spread(base, metric)), 5)
                verdict = ("better" if diff < -noise else "worse" if diff > noise else "within seed noise")
            rows[metric] = {"difference": diff, "noise": noise, "verdict": verdict}
        out.append({"variant": v["name"], "baseline": base["name"], "heldout": rows})
    return out


def sentence(row: dict) -> str:
    mean = row["heldout"]["mean"]
    d, noise, verdict = mean["difference"], mean["noise"], mean["verdict"]
    if noise is None:
        return (f"{row['variant']} vs {row['baseline']}: mean held-out bits per byte {d:+.4f} ({verdict}; "
                "run more seeds to tell a difference from noise).")
    what = {"better": "better than", "worse": "worse than", "within seed noise": "no different from"}[verdict]
    return (f"{row['variant']} is {what} {row['baseline']} on mean held-out bits per byte: {d:+.4f} "
            f"(seed noise {noise:.4f}).")


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def write_report(path, result: dict) -> None:
    e = html.escape
    domains = result["heldout"] + ["mean"]
    head = "".join(f"<th>{e(d)}</th>" for d in domains)
    rows = []
    for v in result["variants"]:
        cells = []
        for d in domains:
            values = [s["heldout"][d] for s in v["seeds"]]
            spread = f" <small>({min(values):.4f}-{max(values):.4f})</small>" if len(values) > 1 else ""
            cells.append(f"<td>{v['heldout'][d]:.4f}{spread}</td>")
        core = v["tasks"].get("core") if v["tasks"] else None
        rows.append(f"<tr><th>{e(v['name'])}</th>{''.join(cells)}<td>{_num(core)}</td></tr>")
    verdicts = "".join(f"<li>{e(sentence(c))}</li>" for c in result["comparison"])
    diffs = []
    for c in result["comparison"]:
        cells = "".join(f"<td>{r['difference']:+.4f}</td><td>{_num(r['noise'])}</td><td>{e(r['verdict'])}</td>"
                        for r in c["heldout"].values())
        diffs.append(f"<tr><th>{e(c['variant'])} - {e(c['baseline'])}</th>{cells}</tr>")
    diff_head = "".join(f"<th colspan=3>{e(d)}</th>" for d in domains)
    task_names = sorted({t for v in result["variants"] if v["tasks"] for t in v["tasks"].get("tasks", {})})
    task_rows = "".join(
        f"<tr><th>{e(v['name'])}</th>" + "".join(
            f"<td>{v['tasks']['tasks'][t]['accuracy']:.3f}</td>" if v["tasks"] and t in v["tasks"]["tasks"]
            else "<td></td>"
            for t in task_names) + "</tr>" for v in result["variants"])
    tasks = (f"<h2>Tasks (accuracy, mean over seeds)</h2><table><tr><th></th>"
             f"{''.join(f'<th>{e(t)}</th>' for t in task_names)}</tr>{task_rows}</table>") if task_names else (
        "<p>No task scores (the trainer's task suite was not run).</p>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>corpuskit ablation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}th{{background:#f4f4f4}}</style></head>
<body><h1>Ablation</h1>
<p>Each variant trained {result['seeds']} seed(s) x {result['steps']} steps ({result['tokens_per_step']} tokens a step,
{result['steps'] * result['tokens_per_step']:,} tokens) with the same model and tokenizer; config {e(result['config'])}.
Held-out bits per byte, lower is better; the first variant is the baseline.</p>
<ul id="verdicts">{verdicts}</ul>
<h2>Held-out bits per byte (mean over seeds; range over seeds)</h2>
<table><tr><th>variant</th>{head}<th>CORE</th></tr>{''.join(rows)}</table>
<h2>Differences against the baseline</h2>
<table><tr><th></th>{diff_head}</tr>{''.join(diffs)}</table>
{tasks}
</body></html>
"""
    atomic_write_text(path, page)
