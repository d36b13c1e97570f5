"""What the quality model reads: normalized text and rule statistics, exact on small pages."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.stages.quality.data import read_rows
from corpuskit.stages.quality.features import STATS, normalize, rule_stats


def test_normalize_collapses_whitespace_and_cuts():
    assert normalize("a\n\nb \t c\n", 100) == "a b c"
    assert normalize("word " * 10, 9) == "word word"


def test_rule_stats_of_a_small_page():
    page = "- Buy now\n- Buy now\nThe cat sat on the mat, and it slept.\n"
    s = dict(zip(STATS, rule_stats([page], 1000)[0]))
    assert s["bullet_lines"] == pytest.approx(2 / 3)
    assert s["dup_line_chars"] == pytest.approx(len("- Buy now") / len(page))
    assert s["punct_end_lines"] == pytest.approx(1 / 3)
    assert s["short_lines"] == pytest.approx(2 / 3)
    words = "buy now buy now the cat sat on the mat and it slept".split()
    assert s["stopword_frac"] == pytest.approx(sum(w in ("now", "the", "on", "and", "it") for w in words) / 13)
    assert s["type_token"] == pytest.approx(len(set(words)) / 13)
    assert s["comma_per_word"] == pytest.approx(1 / 13)
    assert s["mean_word_len"] == pytest.approx(math.log1p(sum(map(len, words)) / 13))
    assert s["upper_frac"] == pytest.approx(3 / sum(c.isalnum() for c in page))  # of letters, digits, symbols


def test_rule_stats_of_an_empty_page_are_finite():
    assert all(math.isfinite(v) for v in rule_stats(["", "   \n"], 1000).ravel())


def test_labelled_parquet_is_read_with_its_labels(tmp_path):
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["good page", "bad page"], "label": [1, 0]}),
                   tmp_path / "l.parquet")
    rows = read_rows(tmp_path / "l.parquet")
    assert [(r.id, r.label, r.source) for r in rows] == [("a", 1, "l.parquet"), ("b", 0, "l.parquet")]
