"""Builders for test documents: deterministic prose that passes every rule, and a runner."""

from __future__ import annotations

import random

from corpuskit.document import Document

# Content words of 4-8 letters; stop words are mixed in so Gopher's stop-word rule passes.
_CONTENT = [
    "river", "window", "garden", "letter", "summer", "candle", "stone", "forest", "harbour", "market",
    "silver", "morning", "travel", "quiet", "orchard", "meadow", "winter", "bridge", "lantern", "valley",
    "kitchen", "father", "mother", "sister", "village", "church", "school", "doctor", "soldier", "captain",
    "ribbon", "basket", "parcel", "engine", "saddle", "kettle", "pepper", "butter", "copper", "marble",
]
_STOP = ["the", "of", "and", "to", "with", "that"]


def prose(n_words: int, seed: int = 0, per_sentence: int = 10, per_line: int = 3) -> str:
    """Exactly `n_words` words of varied pseudo-prose: sentences end in '.', a few sentences per line."""
    rng = random.Random(seed)
    words = [rng.choice(_STOP) if i % 3 == 1 else rng.choice(_CONTENT) for i in range(n_words)]
    out, sentence, lines, line = [], [], [], []
    for i, w in enumerate(words):
        sentence.append(w)
        if len(sentence) == per_sentence or i == n_words - 1:
            line.append(" ".join(sentence).capitalize() + ".")
            sentence = []
            if len(line) == per_line or i == n_words - 1:
                lines.append(" ".join(line))
                line = []
    return "\n".join(lines)


def run_stage(stage, texts):
    """Run a stage on texts; return (kept documents, {doc id: drop reason})."""
    dropped = {}
    stage.reject = lambda doc, reason, name, **kw: dropped.__setitem__(doc.id, reason)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    return list(stage(docs)), dropped


def verdict(stage, text):
    """'kept' or the drop reason of one document."""
    kept, dropped = run_stage(stage, [text])
    return "kept" if kept else dropped["0"]
