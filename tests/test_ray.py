"""The Ray executor on a real local Ray instance: same units, same bytes as local workers."""

import pytest

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline

ray = pytest.importorskip("ray")


def test_ray_executor_matches_local_workers_byte_for_byte(prose_dir, tmp_path):
    stages = [{"normalize": {}}, {"exact_dedup": {}}]
    outputs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        cfg = parse_pipeline({"input": str(prose_dir), "output": str(out), "stages": stages})
        run_pipeline(cfg, workers=2, executor=executor, quiet=True)
        outputs[executor] = {p.relative_to(out).as_posix(): p.read_bytes()
                             for p in sorted(out.rglob("*.parquet")) if "_work" not in p.parts}
    assert outputs["ray"] == outputs["local"]
    assert "rejected/seg1-part-00002.parquet" in outputs["ray"]
