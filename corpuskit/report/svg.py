"""Inline SVG charts: histograms, horizontal bars and line charts, as strings.

No plotting library and no script: each chart is a plain `<svg>` element that any
browser draws, so the report is one file that opens offline. Every label passes
through `html.escape`; numbers are formatted here.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#3b6fb6", "#e07b39", "#4a9c5d", "#b8443f", "#8064a2", "#7f7f7f", "#c9a227", "#2aa3b5")
DROP = "#c8553d"
W, H = 560, 230  # the default chart size in CSS pixels
PAD_L, PAD_R, PAD_T, PAD_B = 56, 14, 26, 38


def fmt(x: float) -> str:
    """A short number: 1.2k, 3.4M, 0.25, 12."""
    if isinstance(x, str):
        return x
    ax = abs(x)
    if ax >= 1e9:
        return f"{x / 1e9:.3g}G"
    if ax >= 1e6:
        return f"{x / 1e6:.3g}M"
    if ax >= 1e4:
        return f"{x / 1e3:.3g}k"
    if ax >= 100 or x == int(x):
        return f"{x:.0f}"
    return f"{x:.3g}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _frame(width: int, height: int, body: list[str], title: str, label: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<text x="{PAD_L}" y="16" class="t">{escape(title)}</text>' + "".join(body) + "</svg>")


def _legend(names: list[str], colors: list[str], width: int) -> list[str]:
    out, x = [], width - PAD_R
    for name, color in reversed(list(zip(names, colors))):
        x -= 14 + 6.5 * len(name)
        out.append(f'<rect x="{x:.1f}" y="7" width="10" height="10" fill="{color}" opacity="0.8"/>'
                   f'<text x="{x + 13:.1f}" y="16" class="l">{escape(name)}</text>')
    return out


class _Axes:
    """Linear or log10 scales from data space to the plot area."""

    def __init__(self, x0, x1, y0, y1, width, height, log_x=False, log_y=False):
        self.log_x, self.log_y = log_x, log_y
        self.x0, self.x1 = self._t(x0, log_x), self._t(x1, log_x)
        self.y0, self.y1 = self._t(y0, log_y), self._t(y1, log_y)
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1
        self.width, self.height = width, height

    @staticmethod
    def _t(v, log):
        return math.log10(max(v, 1e-12)) if log else v

    def x(self, v):
        return PAD_L + (self._t(v, self.log_x) - self.x0) / (self.x1 - self.x0) * (self.width - PAD_L - PAD_R)

    def y(self, v):
        return self.height - PAD_B - (self._t(v, self.log_y) - self.y0) / (self.y1 - self.y0) * (
            self.height - PAD_T - PAD_B)

    def grid(self, xlabel: str, ylabel: str) -> list[str]:
        out = []
        bottom, top = self.height - PAD_B, PAD_T
        for t in self._tick_values(self.y0, self.y1, self.log_y):
            y = self.y(t)
            out.append(f'<line x1="{PAD_L}" x2="{self.width - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>'
                       f'<text x="{PAD_L - 5}" y="{y + 4:.1f}" class="a" text-anchor="end">{fmt(t)}</text>')
        for t in self._tick_values(self.x0, self.x1, self.log_x):
            x = self.x(t)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" class="k"/>'
                       f'<text x="{x:.1f}" y="{bottom + 15}" class="a" text-anchor="middle">{fmt(t)}</text>')
        out.append(f'<line x1="{PAD_L}" x2="{self.width - PAD_R}" y1="{bottom}" y2="{bottom}" class="k"/>'
                   f'<line x1="{PAD_L}" x2="{PAD_L}" y1="{top}" y2="{bottom}" class="k"/>')
        out.append(f'<text x="{(PAD_L + self.width - PAD_R) / 2:.1f}" y="{self.height - 6}" class="a" '
                   f'text-anchor="middle">{escape(xlabel)}</text>')
        out.append(f'<text transform="translate(12 {(top + bottom) / 2:.1f}) rotate(-90)" class="a" '
                   f'text-anchor="middle">{escape(ylabel)}</text>')
        return out

    @staticmethod
    def _tick_values(lo, hi, log):
        if not log:
            return _ticks(lo, hi)
        return [10.0 ** e for e in range(math.ceil(lo), math.floor(hi) + 1)] or [10.0 ** lo]


def histogram(series: list[tuple[str, list[tuple[float, float, int]]]], title: str, xlabel: str,
              log_x: bool = False, marker: tuple[float, str] | None = None, density: bool = False,
              log_y: bool = False, width: int = W, height: int = H) -> str:
    """Overlaid histograms, one (name, bins) per series: the first as bars, the others as step
    outlines so that similar shapes stay readable; `marker` is (x, label), a dashed line."""
    series = [(n, b) for n, b in series if b]
    if not series:
        return ""
    scaled = []
    for name, bins in series:
        total = sum(c for _, _, c in bins) or 1
        scaled.append((name, [(lo, hi, c / total if density else c) for lo, hi, c in bins]))
    lo = min(b[0][0] for _, b in scaled)
    hi = max(b[-1][1] for _, b in scaled)
    if marker:
        lo, hi = min(lo, marker[0]), max(hi, marker[0])
    if log_x:
        lo = max(lo, 0.5)
    top = max(v for _, b in scaled for _, _, v in b)
    floor = min((v for _, b in scaled for _, _, v in b if v > 0), default=1) * 0.7 if log_y else 0
    ax = _Axes(lo, hi, floor, top * (2 if log_y else 1.05), width, height, log_x=log_x, log_y=log_y)
    body = ax.grid(xlabel, ("share of documents" if density else "documents") + (" (log)" if log_y else ""))
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(scaled))]
    base = ax.y(floor)
    for i, ((name, bins), color) in enumerate(zip(scaled, colors)):
        steps = []
        for b_lo, b_hi, v in bins:
            x0, x1 = ax.x(max(b_lo, lo)), ax.x(b_hi)
            y = ax.y(max(v, floor)) if v else base
            tip = f"<title>{escape(name)}: {fmt(b_lo)}-{fmt(b_hi)}: {fmt(v)}</title>"
            if i == 0:
                body.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.5, 0.8):.1f}" '
                            f'height="{base - y:.1f}" fill="{color}" opacity="0.7">{tip}</rect>')
            else:
                steps.append(f"M{x0:.1f},{base:.1f}V{y:.1f}H{x1:.1f}V{base:.1f}")
        if steps:
            body.append(f'<path d="{"".join(steps)}" fill="none" stroke="{color}" stroke-width="1.8">'
                        f'<title>{escape(name)}</title></path>')
    if marker:
        x = ax.x(marker[0])
        right = x > width - PAD_R - 90  # a label near the right edge goes on the line's left
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{height - PAD_B}" class="m"/>'
                    f'<text x="{x - 4 if right else x + 4:.1f}" y="{PAD_T + 10}" class="ml" '
                    f'text-anchor="{"end" if right else "start"}">{escape(marker[1])}</text>')
    if len(scaled) > 1:
        body += _legend([n for n, _ in scaled], colors, width)
    return _frame(width, height, body, title, title)


def hbars(rows: list[tuple[str, list[tuple[float, str, str]]]], title: str, width: int = W,
          row_height: int = 20, label_width: int = 150) -> str:
    """Horizontal stacked bars: rows of (label, [(value, color, tooltip), ...])."""
    if not rows:
        return ""
    top = max(sum(v for v, _, _ in segs) for _, segs in rows) or 1
    height = PAD_T + row_height * len(rows) + 8
    scale = (width - label_width - PAD_R - 60) / top
    body = []
    for r, (label, segs) in enumerate(rows):
        y = PAD_T + r * row_height
        body.append(f'<text x="{label_width - 6}" y="{y + row_height * 0.65:.1f}" class="a" '
                    f'text-anchor="end">{escape(label)}</text>')
        x = label_width
        for value, color, tip in segs:
            w = value * scale
            body.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 0.0):.1f}" height="{row_height - 5}" '
                        f'fill="{color}"><title>{escape(tip)}</title></rect>')
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + row_height * 0.65:.1f}" class="a">'
                    f'{fmt(segs[0][0] if segs else 0)}</text>')  # the first segment: what is kept
    return _frame(width, height, body, title, title)


def lines(series: list[tuple[str, list[tuple[float, float]]]], title: str, xlabel: str, ylabel: str,
          log_y: bool = False, dots: bool = False, width: int = W, height: int = H,
          colors: list[str] | None = None) -> str:
    """Line chart of several (name, [(x, y), ...]) series; `dots` marks each point."""
    colors = colors or [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    kept = [(n, [(x, y) for x, y in pts if y is not None and math.isfinite(y) and (y > 0 or not log_y)], c)
            for (n, pts), c in zip(series, colors)]
    kept = [k for k in kept if k[1]]  # a series with nothing to draw gives up its colour, not the next one's
    if not kept:
        return ""
    series, colors = [(n, p) for n, p, _ in kept], [c for _, _, c in kept]
    xs = [x for _, p in series for x, _ in p]
    ys = [y for _, p in series for _, y in p]
    y_lo, y_hi = min(ys), max(ys)
    pad = (y_hi - y_lo) * 0.05 or abs(y_hi) * 0.05 or 1
    ax = _Axes(min(xs), max(xs), y_lo if log_y else y_lo - pad, y_hi * 1.05 if log_y else y_hi + pad,
               width, height, log_y=log_y)
    body = ax.grid(xlabel, ylabel)
    for (name, pts), color in zip(series, colors):
        path = " ".join(f"{ax.x(x):.1f},{ax.y(y):.1f}" for x, y in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6">'
                    f'<title>{escape(name)}</title></polyline>')
        if dots or len(pts) == 1:
            body += [f'<circle cx="{ax.x(x):.1f}" cy="{ax.y(y):.1f}" r="2.6" fill="{color}">'
                     f'<title>{escape(name)}: {fmt(x)}, {y:.4g}</title></circle>' for x, y in pts]
    body += _legend([n for n, _ in series], colors, width)
    return _frame(width, height, body, title, title)
