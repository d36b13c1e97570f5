"""Files from elsewhere (a shard directory, a document id) never lead a reader or a writer out of
its folder, and nothing in the source tree unpickles or shells out."""

import ast
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from corpuskit.export import ExportError, export_shards
from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline
from corpuskit.tokenize.manifest import ShardsError, load_manifest

REPO = Path(__file__).resolve().parent.parent
WORDS = "the river ran past an old mill where children played near green trees every long summer day".split()


# -- document ids -----------------------------------------------------------------------------

def _nasty_ids(root):
    """Ids that would escape any folder a writer named a file after them."""
    return ["../../../../escape-dotdot", str(root / "escape-absolute"), "nul\x00byte", "sub/../../escape-mixed"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real pipeline run (stages, rejected records, tokenizer, shards) over documents with nasty ids."""
    root = tmp_path_factory.mktemp("ids")
    deep = root / "a" / "b" / "c" / "d"  # so that '../../../..' from the output or cwd still lands under root
    (deep / "in").mkdir(parents=True)
    records = []
    for i in range(80):
        text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(12 + i % 9)) + f" number {i}."
        records.append({"id": f"doc-{i}", "text": text})
    for i, doc_id in enumerate(_nasty_ids(root)):
        records.append({"id": doc_id, "text": records[i]["text"] + " kept."})  # kept
        records.append({"id": doc_id + "-short", "text": "tiny"})  # rejected: too_short
        records.append({"id": doc_id + "-dup", "text": records[i]["text"]})  # rejected: exact_duplicate
    with open(deep / "in" / "docs.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    out = deep / "out"
    cfg = parse_pipeline({"input": str(deep / "in"), "output": str(out), "format": "jsonl",
                          "stages": [{"length_filter": {"min_words": 3}}, {"exact_dedup": {}}],
                          "tokenizer": {"vocab_size": 300, "min_frequency": 1},
                          "shards": {"validation": 0.2, "shard_tokens": 400}})
    before = set(root.rglob("*"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(deep / "in")  # a writer using an id as a relative path would write next to here
        run_pipeline(cfg, workers=1, quiet=True)
    return root, out, before


def test_document_ids_cannot_make_a_writer_escape_its_folder(run):
    root, out, before = run
    new = sorted(p for p in set(root.rglob("*")) - before if not p.is_relative_to(out))
    assert new == []
    assert (out / "shards" / "manifest.json").is_file() and list((out / "rejected").iterdir())
    names = {p.name for p in out.rglob("*")}
    assert not [n for n in names if "escape" in n or "\x00" in n or n == "byte"]


def test_documents_with_nasty_ids_are_kept_with_their_ids(run):
    root, out, _ = run
    kept = [json.loads(line)["id"] for p in sorted(out.glob("part-*.jsonl")) for line in p.open(encoding="utf-8")]
    shard_ids = [i for p in (out / "shards").rglob("*.arrow")
                 for i in pa.ipc.open_stream(pa.memory_map(str(p))).read_all().column("doc_id").to_pylist()]
    rejected = [json.loads(line)["id"] for p in (out / "rejected").iterdir() for line in p.open(encoding="utf-8")]
    for doc_id in _nasty_ids(root):
        assert doc_id in kept and doc_id in shard_ids
        assert doc_id + "-short" in rejected and doc_id + "-dup" in rejected


# -- manifests naming paths outside the shard directory ------------------------------------------

@pytest.fixture
def shards(run, tmp_path):
    """A copy of the run's shard directory, deep enough that '../../../..' stays under tmp_path."""
    copy = tmp_path / "a" / "b" / "c" / "shards"
    shutil.copytree(run[1] / "shards", copy)
    return copy


def _edit(shards_dir, edit):
    path = shards_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def _rename_split(old, new, file=None):
    def edit(m):
        m["splits"] = {(new if k == old else k): v for k, v in m["splits"].items()}
        if file is not None:
            m["splits"][new]["shards"][0]["file"] = file
    return edit


def _set_shard_file(split, value):
    return lambda m: m["splits"][split]["shards"][0].__setitem__("file", value)


BAD_MANIFESTS = {
    "split name ../": (_rename_split("validation", "../../../../victim"), "splits['../../../../victim']"),
    "split name ..": (_rename_split("validation", ".."), "splits['..']"),
    "split name with a separator": (_rename_split("validation", "a/b"), "splits['a/b']"),
    "split name with NUL": (_rename_split("validation", "va\x00l"), "splits['va\\x00l']"),
    "tokenizer file ../": (lambda m: m["tokenizer"].__setitem__("file", "../../../../etc/passwd"), "tokenizer.file"),
    "absolute tokenizer file": (lambda m: m["tokenizer"].__setitem__("file", "/etc/passwd"), "tokenizer.file"),
    "shard file ../": (_set_shard_file("train", "train/../../x.arrow"), "splits.train.shards[0].file"),
    "absolute shard file": (_set_shard_file("train", "/etc/x.arrow"), "splits.train.shards[0].file"),
    "shard file in another split": (_set_shard_file("train", "validation/shard-00000.arrow"),
                                    "splits.train.shards[0].file"),
    "shard file too deep": (_set_shard_file("train", "train/x/shard-00000.arrow"), "splits.train.shards[0].file"),
    "shard file not .arrow": (_set_shard_file("train", "train/shard-00000.txt"), "splits.train.shards[0].file"),
}


@pytest.mark.parametrize("case", BAD_MANIFESTS)
def test_load_manifest_refuses_names_that_are_not_plain(shards, case):
    edit, key = BAD_MANIFESTS[case]
    _edit(shards, edit)
    with pytest.raises(ShardsError) as err:
        load_manifest(shards)
    assert str(shards / "manifest.json") in str(err.value) and key in str(err.value)


def _victim(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.ds").write_bytes(b"not yours")
    return victim


@pytest.mark.parametrize("fmt", ["datatrove", "megatron", "nanogpt", "llmc"])
def test_export_of_a_hostile_manifest_touches_nothing_outside_output(shards, tmp_path, fmt):
    victim = _victim(tmp_path)
    (tmp_path / "secret.txt").write_text("secret")
    _edit(shards, _rename_split("validation", "../../../../victim"))
    _edit(shards, lambda m: m["tokenizer"].__setitem__("file", "../../../../secret.txt"))
    out = tmp_path / "a" / "b" / "c" / "out"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ShardsError, match="splits|tokenizer.file"):
        export_shards(shards, out, fmt)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before and sorted(victim.iterdir()) == [victim / "precious.ds"]


def test_exporters_refuse_a_symlink_out_of_the_output_folder(shards, tmp_path):
    import shutil

    victim = _victim(tmp_path)
    out = tmp_path / "out"
    export_shards(shards, out, "datatrove")  # corpuskit's own folder: an unmarked one is refused before this
    shutil.rmtree(out / "train")
    (out / "train").symlink_to(victim)  # a plain split name, but its folder leads elsewhere
    with pytest.raises(ExportError, match="outside the output folder"):
        export_shards(shards, out, "datatrove")
    assert sorted(victim.iterdir()) == [victim / "precious.ds"]


@pytest.mark.parametrize("prefix", ["../escape", "/tmp/escape", "a/b"])
def test_llmc_prefix_must_be_a_plain_name(shards, tmp_path, prefix):
    with pytest.raises(ExportError, match="prefix"):
        export_shards(shards, tmp_path / "a" / "out", "llmc", prefix=prefix)
    assert not list(tmp_path.rglob("*escape*")) and not [p for p in (tmp_path / "a" / "out").rglob("*")]


# -- the source tree -----------------------------------------------------------------------------

def _dotted(node):
    """`torch.load` for the call target `torch.load(...)`, '' when it is not a plain dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def _kw(call, name):
    return next((k.value.value for k in call.keywords if k.arg == name and isinstance(k.value, ast.Constant)), None)


def unsafe_calls(source, where="<source>"):
    """`where:line: what` for each call that can run code hidden in a file, or runs a shell."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        bad = (name == "torch.load" and _kw(node, "weights_only") is not True
               or name.startswith(("pickle.", "cPickle.", "dill.", "marshal.")) and name.endswith(("load", "loads"))
               or name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "eval", "exec")
               or name in ("np.load", "numpy.load") and _kw(node, "allow_pickle") is True
               or _kw(node, "shell") is True)
        if bad:
            found.append(f"{where}:{node.lineno}: {name or 'call'}")
    return found


def test_the_scanner_finds_each_unsafe_call():
    sample = ("torch.load(f)\ntorch.load(f, weights_only=False)\ntorch.load(f, weights_only=True)\n"
              "pickle.load(f)\nyaml.load(s)\nyaml.safe_load(s)\nsubprocess.run(c, shell=True)\n"
              "np.load(p, allow_pickle=True)\nnp.load(p)\n")
    assert [line.split(": ")[1] for line in unsafe_calls(sample)] == [
        "torch.load", "torch.load", "pickle.load", "yaml.load", "subprocess.run", "np.load"]


def test_no_unsafe_load_or_shell_in_the_source_tree():
    files = [p for d in ("corpuskit", "trainer", "scripts", "bench", "tests") for p in (REPO / d).rglob("*.py")]
    files += [p for p in REPO.glob("*.py")]
    assert len(files) > 50
    found = [hit for p in files if p != Path(__file__).resolve()
             for hit in unsafe_calls(p.read_text(encoding="utf-8"), str(p.relative_to(REPO)))]
    # The one allowed load: that test reads back the meta.pkl it has just exported, as nanoGPT's
    # train.py does; the library itself only ever writes that pickle.
    found = [hit for hit in found if not (hit.startswith("tests/export/test_nanogpt_meta.py:")
                                          and hit.endswith(": pickle.load"))]
    assert found == []
