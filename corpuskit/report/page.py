"""The page around the sections: one HTML document with its CSS inline and no script.

Helpers build escaped HTML: every string that came from a user's data or configuration
goes through `esc`; numbers are formatted here. Nothing on the page refers to another
file or host, so the report opens the same offline, from an e-mail or a CI artifact.
"""

from __future__ import annotations

from html import escape

CSS = """
:root { --ink:#1d2330; --mute:#5b6474; --line:#d9dee7; --bg:#f6f7f9; --card:#fff;
  --drop:#c8553d; --keep:#3b6fb6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink); background:var(--bg); }
header { padding:18px 28px 10px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { margin:0 0 4px; font-size:20px; }
header .sub { color:var(--mute); }
nav { margin-top:8px; } nav a { margin-right:14px; color:var(--keep); text-decoration:none; }
main { padding:10px 28px 40px; max-width:1280px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:16px 0; padding:14px 18px; }
section h2 { margin:0 0 10px; font-size:17px; }
h3 { font-size:14px; margin:14px 0 6px; }
.kpis { display:flex; flex-wrap:wrap; gap:10px; margin:8px 0 2px; }
.kpi { border:1px solid var(--line); border-radius:6px; padding:6px 12px; min-width:120px; }
.kpi b { display:block; font-size:18px; } .kpi span { color:var(--mute); font-size:12px; }
.grid { display:flex; flex-wrap:wrap; gap:14px; align-items:flex-start; }
figure { margin:0; } figure.chart { border:1px solid var(--line); border-radius:6px; padding:4px; background:#fff; }
figcaption { color:var(--mute); font-size:12px; padding:2px 6px; max-width:560px; }
svg.chart text { font-size:11px; fill:var(--ink); } svg.chart .t { font-weight:600; font-size:12px; }
svg.chart .a { fill:var(--mute); } svg.chart .l { font-size:11px; }
svg.chart .g { stroke:#eceff4; } svg.chart .k { stroke:#9aa3b2; }
svg.chart .m { stroke:#111; stroke-dasharray:4 3; stroke-width:1.3; } svg.chart .ml { font-size:11px; font-weight:600; }
table { border-collapse:collapse; font-size:13px; margin:6px 0; }
th, td { border-bottom:1px solid var(--line); padding:3px 8px; text-align:right; vertical-align:top; }
th { background:#f0f2f6; font-weight:600; } td.s, th.s { text-align:left; }
td.mono, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
.reason { color:var(--drop); font-weight:600; }
.muted { color:var(--mute); }
details { margin:6px 0; } summary { cursor:pointer; }
.ex { border-left:3px solid var(--drop); margin:6px 0 10px; padding:4px 10px; background:#fbf7f6; }
.ex .meta { color:var(--mute); font-size:12px; }
.ex pre, pre.cfg { white-space:pre-wrap; word-break:break-word; margin:4px 0; max-height:220px; overflow:auto;
  font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
.pair { display:flex; gap:10px; } .pair > div { flex:1; min-width:0; }
.pair .kept { border-left-color:var(--keep); background:#f4f7fb; }
"""


def esc(value) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def num(x, digits: int = 0) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and digits:
        return f"{x:,.{digits}f}"
    return f"{x:,.0f}" if isinstance(x, (int, float)) else esc(x)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "–"


def table(head: list[str], rows: list[list[str]], left: int = 1, last_left: bool = False) -> str:
    """An HTML table; cells are HTML already (escape before); the first `left` columns (and the
    last, with `last_left`) align left, the numbers right."""
    n = len(head)

    def cls(i):
        return ' class="s"' if i < left or (last_left and i == n - 1) else ""

    th = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def figure(svg: str, caption: str = "", name: str = "") -> str:
    """A chart with its caption (escaped); nothing when there was nothing to draw."""
    if not svg:
        return ""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart" data-chart="{esc(name)}">{svg}{cap}</figure>'


def kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{v}</b><span>{esc(k)}</span></div>'
                                          for k, v in items) + "</div>"


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """The whole document: `sections` are (anchor, title, body HTML); empty bodies are left out."""
    sections = [s for s in sections if s[2]]
    nav = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(section(a, t, b) for a, t, b in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><div class=\"sub\">{subtitle}</div><nav>{nav}</nav></header>"
            f"<main>{body}</main></body></html>\n")
