"""The one record type that crosses every boundary in corpuskit. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Document:
    """A unit of text.

    `id` is stable across runs: readers take it from the input, or derive it from the
    source path and the record's position. `source` names where the text came from
    (a path relative to the input root, with a line number for line-based formats).
    """

    text: str
    id: str
    source: str = ""
    metadata: dict = field(default_factory=dict)
