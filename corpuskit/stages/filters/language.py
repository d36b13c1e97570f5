"""Language identification offline with py3langid, whose model ships inside the wheel.

The model (a naive Bayes over byte n-grams, 97 languages) loads from the installed
package on first use; nothing is downloaded. Each kept document gets
`metadata["language"]` and `metadata["language_score"]` (a probability, rounded).
"""

from __future__ import annotations

from corpuskit.document import Document
from corpuskit.schema import Fraction, NonEmptyStr, Positive
from corpuskit.stage import Filter

_IDENTIFIER = None


def identifier():
    """The process-wide py3langid identifier with probabilities normalized (loaded once)."""
    global _IDENTIFIER
    if _IDENTIFIER is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def detect(text: str, max_chars: int = 500) -> tuple[str, float]:
    """(ISO 639-1 code, probability) for the first `max_chars` characters of `text`."""
    lang, score = identifier().classify(text[:max_chars])
    return lang, float(score)


class LanguageFilter(Filter):
    """Drop reasons: `wrong_language` (best guess not in `languages`), `low_language_score`.

    Parameters (YAML):
      languages: [en]     ISO 639-1 codes to keep; an empty list keeps every language
      min_score: 0.5      the best guess's probability must reach this
      max_chars: 500      classify only the start of long documents (speed; enough signal)
    """

    name = "language_filter"

    def __init__(self, languages: tuple[NonEmptyStr, ...] = ("en",), min_score: Fraction = 0.5,
                 max_chars: Positive = 500):  # 0 would classify the empty string for every document
        super().__init__()
        unknown = sorted(set(languages) - set(identifier().nb_classes)) if languages else []
        if unknown:  # a typo ("eng", "EN") would drop every document as wrong_language
            raise ValueError(f"languages: {', '.join(map(repr, unknown))} not among the ISO 639-1 codes "
                             f"py3langid identifies (en, de, fr, ...)")
        self.languages = frozenset(languages)
        self.min_score, self.max_chars = min_score, max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        lang, score = detect(doc.text, self.max_chars)
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        if self.languages and lang not in self.languages:
            return False, "wrong_language"
        if score < self.min_score:
            return False, "low_language_score"
        return True
