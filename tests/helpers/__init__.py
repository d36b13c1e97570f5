"""Test helpers, one package: builders of inputs, stage runners, fault injection, fixture paths.

    clean.py    deterministic prose that passes every quality rule; run a stage on texts
    dedup.py    synthetic near-duplicates and a real runner call; read kept and rejected ids
    collect.py  read a path with the readers, collecting documents and rejected records
    faults.py   stages that crash, die once, fail, or record their Ray node (resume and cluster tests)
    s3.py       a real S3 server (moto) on localhost for the remote-storage tests
    samples.py  small hand-made inputs
"""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPO = FIXTURES.parent.parent


def load_script(name: str):
    """Import `scripts/<name>.py` (scripts are files to run, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
