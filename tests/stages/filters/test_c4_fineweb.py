"""C4 document rules and FineWeb line rules: reasons on tripping documents, kept just inside."""

from __future__ import annotations

from helpers.clean import prose, verdict
from corpuskit.stages.filters.c4 import C4Quality
from corpuskit.stages.filters.fineweb import FineWebQuality


def test_c4_lorem_ipsum():
    assert verdict(C4Quality(), prose(100) + " Lorem ipsum dolor sit amet.") == "c4_lorem_ipsum"
    assert verdict(C4Quality(), prose(100) + " Lorem dolor sit amet.") == "kept"
    assert verdict(C4Quality(filter_lorem_ipsum=False), prose(100) + " Lorem ipsum.") == "kept"


def test_c4_curly_bracket():
    assert verdict(C4Quality(), prose(100) + "\nfunction f() { return 1; }") == "c4_curly_bracket"
    assert verdict(C4Quality(), prose(100) + "\nfunction f() ( return 1; )") == "kept"


def test_c4_min_sentences():
    four = "One is here. Two is here! Three is here? Four is “here.”"
    assert verdict(C4Quality(), four) == "c4_too_few_sentences"
    assert verdict(C4Quality(), four + " Five.") == "kept"
    assert verdict(C4Quality(min_sentences=4), four) == "kept"
    # a decimal point or an abbreviation glued to the next word is not a sentence end
    assert verdict(C4Quality(min_sentences=2), "Pi is 3.14 and e.g.this is one sentence.") == "c4_too_few_sentences"


def test_c4_word_too_long():
    assert verdict(C4Quality(max_word_length=20), prose(100) + " " + "x" * 21) == "c4_word_too_long"
    assert verdict(C4Quality(max_word_length=20), prose(100) + " " + "x" * 20) == "kept"
    assert verdict(C4Quality(), prose(100) + " " + "x" * 1001) == "c4_word_too_long"


def _web(lines_punct: int, lines_plain: int) -> str:
    punct = [prose(12, seed=i, per_line=100) for i in range(lines_punct)]
    plain = [prose(12, seed=100 + i, per_line=100).rstrip(".") for i in range(lines_plain)]
    return "\n".join(punct + plain)


def test_fineweb_line_punct_ratio():
    # 12 of 100 lines end in punctuation: exactly the 0.12 limit keeps; 11 of 100 drops
    assert verdict(FineWebQuality(), _web(11, 89)) == "fineweb_line_punct_ratio"
    assert verdict(FineWebQuality(), _web(12, 88)) == "kept"
    curly = "Curly quotes close a sentence as well as straight ones: \u201cyes.\u201d"
    assert verdict(FineWebQuality(), "\n".join([curly, _web(0, 7)])) == "kept"  # 1 of 8 = 0.125


def test_fineweb_line_punct_exclude_zero():
    assert verdict(FineWebQuality(), _web(0, 5)) == "fineweb_line_punct_ratio"
    assert verdict(FineWebQuality(line_punct_exclude_zero=True), _web(0, 5)) == "kept"


def test_fineweb_hard_wrapped_text_counts_sentences_not_wrapped_lines():
    # A book paragraph wrapped at ~70 columns: only its last line ends in punctuation.
    para = "\n".join([f"line {i} of a long sentence that the printer wrapped at the margin and" for i in range(9)]
                     + ["then the line ended."])
    text = "\n\n".join([para.replace("line", w) for w in ("verse", "prose", "story")])
    assert verdict(FineWebQuality(), text) == "fineweb_line_punct_ratio"  # 3 of 30 lines: 0.1
    assert verdict(FineWebQuality(wrap_width=80), text) == "kept"  # 3 of 3 sentences
    # a web page has long lines, so it is never taken as hard-wrapped
    assert verdict(FineWebQuality(wrap_width=80), text + "\n" + "x " * 60) == "fineweb_line_punct_ratio"


def test_fineweb_short_line_ratio():
    short = [f"Item {i}." for i in range(67)]
    long_ = [prose(12, seed=i, per_line=100) for i in range(33)]
    assert verdict(FineWebQuality(), "\n".join(short + ["Item x."] + long_[:32])) == "fineweb_short_line_ratio"  # 0.68
    assert verdict(FineWebQuality(), "\n".join(short + long_)) == "kept"  # 0.67
    assert verdict(FineWebQuality(short_line_length=5), "\n".join(short + ["Item x."] + long_[:32])) == "kept"


def test_fineweb_char_dup_ratio():
    lines = [prose(20, seed=i, per_line=100) for i in range(20)]
    text = "\n".join(lines + [lines[0]])
    frac = len(lines[0]) / sum(map(len, lines + [lines[0]]))
    assert frac > 0.01
    assert verdict(FineWebQuality(), text) == "fineweb_char_dup_ratio"
    assert verdict(FineWebQuality(char_duplicates_ratio=frac), text) == "kept"


def test_fineweb_skip_label_lines():
    play = "\n".join(f"ROMEO:\n{prose(12, seed=i)}\nJULIET:\n{prose(12, seed=50 + i)}" for i in range(4))
    assert verdict(FineWebQuality(), play) == "fineweb_char_dup_ratio"
    assert verdict(FineWebQuality(skip_label_lines=True), play) == "kept"


def test_fineweb_list_ratio():
    # newlines per word: 31 newlines for 100 words trips 0.3; 30 is exactly the limit
    def listy(newlines):
        words = prose(100, per_line=100).split()
        lines, step = [], 100 // (newlines + 1)
        for i in range(newlines):
            lines.append(" ".join(words[i * step:(i + 1) * step]) + ".")
        lines.append(" ".join(words[newlines * step:]) + ".")
        return "\n".join(lines)

    loose = {"short_line_thr": 1.0}
    assert verdict(FineWebQuality(**loose), listy(31)) == "fineweb_list_ratio"
    assert verdict(FineWebQuality(**loose), listy(30)) == "kept"
