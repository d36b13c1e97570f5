"""Ray for real: a multi-node cluster on this machine (a head and a worker node, each its own
raylet and worker processes, started by ray.cluster_utils.Cluster), joined by `address`, with
the input and the output on a local S3 server. A worker dies mid-unit; Ray retries the unit
and the published outputs are byte-identical to a local run. A unit that raises is reported
with its name and error."""

import gzip
import json
import os
from pathlib import Path

import pytest
import yaml

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline
from helpers import REPO

ray = pytest.importorskip("ray")
s3fs = pytest.importorskip("s3fs")
pytest.importorskip("moto.server")
from helpers.s3 import s3_server  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from corpuskit.execute.ray import UnitFailed  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, local input folder, s3 URL of the same input)."""
    local = tmp_path_factory.mktemp("cluster-in")
    for book in sorted((REPO / "corpus").glob("pg*.txt.gz"))[:3]:  # the first 80 KB of three books
        (local / book.name.removesuffix(".gz")).write_bytes(gzip.decompress(book.read_bytes())[:80_000])
    pythonpath = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "tests"), pythonpath]))  # helpers.faults
    try:
        with s3_server():  # before the nodes start: their workers inherit the endpoint
            fs = s3fs.S3FileSystem(skip_instance_cache=True)
            fs.mkdir("corpus")
            fs.put(str(local) + "/", "corpus/in/", recursive=True)
            c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            c.add_node(num_cpus=1)
            c.wait_for_nodes()
            try:
                yield c.address, local, "s3://corpus/in/"
            finally:
                ray.shutdown()
                c.shutdown()
    finally:
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath


def _default_stages(extra: list) -> list:
    """default.yaml's stages with `extra` before the two dedup stages. Toxicity is left out:
    its scores currently differ in their last digits between processes (docs: the issue's note)."""
    stages = [s for s in yaml.safe_load((REPO / "pipelines" / "default.yaml").read_text())["stages"]
              if "toxicity" not in s]
    assert [next(iter(s)) for s in stages[-2:]] == ["exact_dedup", "minhash_dedup"]
    return stages[:-2] + extra + stages[-2:]


def _outputs(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_work" not in p.parts and "logs" not in p.parts and p.name not in ("stats.json", "config.json", "README.md")}


def _objects(prefix: str) -> dict:
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    return {k[len(prefix) + 1:]: fs.cat_file(k) for k in sorted(fs.find(prefix))
            if k.rsplit("/", 1)[-1] not in ("stats.json", "config.json", "README.md") and "/logs/" not in f"/{k}"}


def test_cluster_run_with_a_killed_worker_equals_a_local_run(cluster, tmp_path, monkeypatch):
    address, local, url = cluster
    monkeypatch.setenv("CORPUSKIT_WORK_DIR", str(tmp_path / "work"))  # the nodes share this machine's disk
    nodes, marker = tmp_path / "nodes", tmp_path / "died"
    nodes.mkdir()
    stages = _default_stages([{"helpers.faults:DieOnce": {"marker": str(marker), "source": "pg1", "after": 10}},
                              {"helpers.faults:RecordNode": {"folder": str(nodes)}}])
    common = {"stages": stages, "reader": {"glob": "*.txt"}, "tokenizer": {"vocab_size": 400},
              "shards": {"shard_tokens": 50_000}}
    run_pipeline(parse_pipeline({**common, "input": url, "output": "s3://corpus/out-ray"}), workers=2,
                 executor="ray", address=address, quiet=True)
    assert marker.exists()  # a worker did die mid-unit, and its unit was retried
    assert len({p.name.split("-")[0] for p in nodes.iterdir()}) == 2  # units ran on both nodes
    ref = tmp_path / "local"
    run_pipeline(parse_pipeline({**common, "input": str(local), "output": str(ref)}), workers=2, quiet=True)
    got, expected = _objects("corpus/out-ray"), _outputs(ref)
    for files in (got, expected):  # the manifest names the pipeline's fingerprint, whose input differs
        manifest = json.loads(files.pop("shards/manifest.json"))
        manifest.pop("pipeline_config_sha256")
        files["shards/manifest.json"] = json.dumps(manifest).encode()
    assert got == expected
    assert any(k.startswith("shards/train/") for k in got) and "reports/minhash_dedup.json" in got


def test_a_failing_unit_is_reported_with_its_name_and_error(cluster, tmp_path):
    address, local, _ = cluster
    cfg = parse_pipeline({"input": str(local), "output": str(tmp_path / "o"), "reader": {"glob": "*.txt"},
                          "stages": [{"helpers.faults:Fail": {"source": "pg11"}}]})
    # where it ran (node and pid) is read from Ray's message when Ray gives it
    expected = (r"unit 00001 \(pg11-alice-in-wonderland.txt\), pass 1, failed( on node \S+ \(worker pid \d+\))?: "
                r"ValueError: injected failure at pg11-alice-in-wonderland.txt#0")
    with pytest.raises(UnitFailed, match=expected):
        run_pipeline(cfg, workers=2, executor="ray", address=address, quiet=True)
    assert not (tmp_path / "o" / "part-00001.parquet").exists()  # the others may have finished: kept, for a rerun
