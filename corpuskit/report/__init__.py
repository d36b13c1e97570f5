"""The HTML report of a run: one self-contained file with inline SVG charts (docs/REPORT.md)."""

from corpuskit.report.build import render_report, write_report

__all__ = ["render_report", "write_report"]
