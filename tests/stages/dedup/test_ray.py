"""MinHash dedup on a real local Ray instance: band and range tasks run as Ray tasks, spilling,
and the outputs are the same bytes as with local workers."""

import pytest

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline
from corpuskit.stages.dedup import spill
from helpers.dedup import edit, prose, write_jsonl

ray = pytest.importorskip("ray")


def test_ray_reduce_matches_local_workers_byte_for_byte(tmp_path, monkeypatch):
    for f in range(3):
        docs = [(f"f{f}-{i}", prose(100 * f + i)) for i in range(40)]
        docs += [(f"f{f}-near{i}", edit(prose(i), 2, seed=f)) for i in range(0, 40, 3)]
        write_jsonl(tmp_path / "in" / f"part-{f}.jsonl", docs)
    # the plan is made on the driver and carried by the tasks: spill partitions and ranges on Ray too
    monkeypatch.setattr(spill, "_PER_RECORD", 50_000_000)
    monkeypatch.setattr(spill, "_PER_PAIR", 2_000_000)
    outputs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        cfg = parse_pipeline({"input": str(tmp_path / "in"), "output": str(out), "stages": [{"minhash_dedup": {}}]})
        run_pipeline(cfg, workers=2, executor=executor, quiet=True)
        outputs[executor] = {p.relative_to(out).as_posix(): p.read_bytes()
                             for p in sorted(out.rglob("*")) if p.is_file() and "_work" not in p.parts
                             and (p.suffix == ".parquet" or p.parent.name == "reports")}
    report = outputs["local"]["reports/minhash_dedup.json"].decode()
    assert '"spill_partitions": 1,' not in report and '"spill_ranges": 1\n' not in report
    assert outputs["ray"] == outputs["local"]
    assert sum(1 for k in outputs["ray"] if k.startswith("rejected/")) == 3  # near copies in every file
