"""Read a path with corpuskit's readers, collecting kept documents and rejected records."""

from __future__ import annotations

from corpuskit.readers import ReaderConfig, list_sources, read_source


def read_all(path, **options):
    """Return (documents, rejected) where rejected is a list of (doc, reason, detail)."""
    cfg = ReaderConfig(**options)
    docs, rejected = [], []

    def reject(doc, reason, stage, **detail):
        rejected.append((doc, reason, detail.get("detail")))

    for src in list_sources(path, cfg.glob):
        docs.extend(read_source(src, cfg, reject))
    return docs, rejected
