"""The data side installs and runs without torch.

Offline and always: the package's own requirements name no torch (nor the other trainer or
model extras), every corpuskit module imports with torch, transformers, safetensors,
matplotlib and ray made unimportable, and `corpuskit clean`, `dedup` and `toxicity filter`
(default scorer) run that way in a fresh process.

Opt-in, CORPUSKIT_TEST_FRESH_VENV=1: a new venv (no system site-packages) gets
`pip install REPO` with no extras from the package registry (about 2 minutes; it needs the
registry, so it is not part of the offline suite), has no torch, and runs the same commands.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "safetensors", "matplotlib", "ray")
# Importing any of HEAVY fails, as on a machine where they are not installed.
BLOCK = f"""
import importlib.abc, sys
class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
sys.meta_path.insert(0, _Absent())
"""


def _corpus(folder: Path) -> Path:
    from helpers.clean import prose

    folder.mkdir()
    texts = [prose(200, seed=i) for i in range(5)] + [prose(200, seed=0)]  # the last repeats the first
    with open(folder / "docs.txt", "w", encoding="utf-8") as fh:
        fh.write("\n\n".join(texts) + "\n")
    return folder


def _run(python: str, args: list[str], cwd: Path, block: bool) -> subprocess.CompletedProcess:
    code = (BLOCK if block else "") + "import sys; from corpuskit.cli import main; sys.argv = ['corpuskit'] + sys.argv[1:]; main()"
    return subprocess.run([python, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _data_side_commands(python: str, tmp: Path, block: bool) -> None:
    corpus = _corpus(tmp / "raw")
    for args in (["clean", str(corpus), str(tmp / "cleaned")],
                 ["dedup", str(tmp / "cleaned"), str(tmp / "deduped")],
                 ["toxicity", "filter", str(tmp / "deduped"), str(tmp / "filtered")]):
        result = _run(python, [*args, "--workers", "1"], tmp, block)
        assert result.returncode == 0, f"{args[0]}: {result.stderr[-2000:]}"
    stats = json.loads((tmp / "deduped" / "stats.json").read_text())
    assert stats["stages"]["exact_dedup"]["dropped"] == 1  # the repeated story
    assert json.loads((tmp / "filtered" / "stats.json").read_text())["documents_out"] == stats["documents_out"]


def test_requirements_name_no_torch():
    requires = importlib.metadata.requires("corpuskit") or []
    base = [r for r in requires if "extra ==" not in r]
    assert not [r for r in base if r.split(">")[0].split("=")[0].strip().lower() in HEAVY]
    extras = {r.split("extra ==")[1].strip().strip("'\"") for r in requires if "extra ==" in r}
    assert {"train", "ray", "hf", "embed", "web", "test"} <= extras
    train = [r for r in requires if "extra == \"train\"" in r or "extra == 'train'" in r]
    assert {r.split(">")[0] for r in train} == {"torch", "safetensors", "matplotlib"}


def test_every_corpuskit_module_imports_without_torch():
    code = BLOCK + """
import pkgutil, importlib, corpuskit
for m in pkgutil.walk_packages(corpuskit.__path__, "corpuskit."):
    if not m.name.endswith("__main__"):  # it runs the command
        importlib.import_module(m.name)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_clean_dedup_and_toxicity_run_without_torch(tmp_path):
    _data_side_commands(sys.executable, tmp_path, block=True)


@pytest.mark.skipif(os.environ.get("CORPUSKIT_TEST_FRESH_VENV") != "1",
                    reason="set CORPUSKIT_TEST_FRESH_VENV=1: installs the bare package from the registry (~2 min)")
def test_a_fresh_venv_with_the_bare_package(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", str(REPO)], capture_output=True, text=True,
                             timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    installed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert not names & set(HEAVY), names & set(HEAVY)
    _data_side_commands(python, tmp_path, block=False)


def test_the_wheel_builds_without_warnings_and_carries_the_trainer_configs(tmp_path):
    """`pip wheel` (offline: no build isolation) on a copy of the checkout: no setuptools warning (a
    license table, trainer/configs as an unlisted package), and the YAML files inside."""
    import re
    import shutil
    import zipfile

    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    src = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    for name in listed.stdout.splitlines():
        if (REPO / name).is_file() and not name.startswith("data/"):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(tmp_path / "whl"), "--no-deps",
                            "--no-build-isolation", "-v"], capture_output=True, text=True, timeout=600)
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-3000:]
    assert not re.findall(r".*(?:Warning\b|deprecated).*", output), output[-3000:]
    (wheel,) = (tmp_path / "whl").glob("corpuskit-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    configs = {f"trainer/configs/{p.name}" for p in (REPO / "trainer" / "configs").glob("*.yaml")}
    assert configs and configs <= names
    assert "trainer/__main__.py" in names  # the trainer ships in the data-side wheel too (pyproject.toml says why)
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
