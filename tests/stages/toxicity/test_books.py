"""The default configuration keeps literature: the embedded public-domain books lose at most 0.3%."""

from corpuskit.pipeline import load_pipeline
from corpuskit.readers import list_sources, read_source
from corpuskit.stages.toxicity.stage import ToxicityFilter


def _default_stage_params(cfg) -> dict:
    specs = [s for s in cfg.stages if s.type == "toxicity"]
    assert len(specs) == 1, "pipelines/default.yaml should hold one toxicity stage"
    return specs[0].params


def test_default_pipeline_keeps_the_embedded_books(repo):
    cfg = load_pipeline(repo / "pipelines" / "default.yaml")
    docs = [doc for src in list_sources(repo / "corpus", cfg.reader.glob)
            for doc in read_source(src, cfg.reader, lambda *a, **k: None)]
    assert len(docs) > 5000
    stage = ToxicityFilter(**_default_stage_params(cfg))
    kept = sum(1 for _ in stage(docs))
    dropped = stage.stats.counters.get("dropped_toxic", 0)
    assert kept + dropped == len(docs)
    assert dropped <= 0.003 * len(docs), f"{dropped} of {len(docs)} book documents dropped as toxic"
