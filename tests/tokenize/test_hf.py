"""A run folder and its shard directory, opened the way Hugging Face users open them:
`datasets.load_from_disk`, `datasets.load_dataset` and `transformers.AutoTokenizer`."""

import json

import pytest
import yaml
from click.testing import CliRunner

from corpuskit.cli import cli

datasets = pytest.importorskip("datasets")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, synth):
    """`corpuskit run` on a small corpus, with a reserved BOS token and a test split."""
    make_records, write_jsonl = synth
    root = tmp_path_factory.mktemp("hf")
    (root / "in").mkdir()
    write_jsonl(root / "in" / "docs.jsonl", make_records(200, seed=5))
    pipeline = {"input": str(root / "in"), "output": str(root / "out"), "stages": [{"exact_dedup": {}}],
                "tokenizer": {"vocab_size": 400, "bos_token": "<|bos|>"},
                "shards": {"validation": 0.1, "test": 0.1, "shard_tokens": 4000}}
    (root / "p.yaml").write_text(yaml.safe_dump(pipeline))
    result = CliRunner().invoke(cli, ["run", str(root / "p.yaml"), "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "out"


def test_load_from_disk_opens_the_shards_in_place(run_dir):
    shards = run_dir / "shards"
    manifest = json.loads((shards / "manifest.json").read_text())
    dd = datasets.load_from_disk(str(shards))
    assert isinstance(dd, datasets.DatasetDict)
    assert sorted(dd) == ["test", "train", "validation"]
    for name, split in manifest["splits"].items():
        ds = dd[name]
        assert ds.num_rows == split["n_documents"]
        # memory-mapped from the shard files themselves: nothing was copied
        assert [f["filename"] for f in ds.cache_files] == [str(shards / s["file"]) for s in split["shards"]]
        assert sum(ds["n_tokens"]) == split["n_tokens"]
    row = dd["train"][0]
    assert row["input_ids"][-1] == manifest["tokenizer"]["eot_id"] and len(row["input_ids"]) == row["n_tokens"]
    one = datasets.Dataset.from_file(str(shards / manifest["splits"]["train"]["shards"][0]["file"]))
    assert one[0] == row  # the older way still works


def test_auto_tokenizer_has_the_token_between_documents(run_dir):
    shards = run_dir / "shards"
    manifest = json.loads((shards / "manifest.json").read_text())
    tok = transformers.AutoTokenizer.from_pretrained(str(shards))
    assert tok.eos_token == "<|endoftext|>" and tok.eos_token_id == manifest["tokenizer"]["eot_id"]
    assert tok.bos_token == "<|bos|>" and tok.bos_token_id == manifest["tokenizer"]["bos_id"]
    assert tok.pad_token_id == tok.eos_token_id  # no pad reserved: padding uses eos, as for GPT-2
    batch = tok(["a short one", "a somewhat longer text than that"], padding=True)
    assert len(set(map(len, batch["input_ids"]))) == 1 and 0 in batch["attention_mask"][0]
    # the tokenizer encodes a document exactly as the shards hold it (they add eos, it adds nothing)
    docs = {r["id"]: r["text"] for r in datasets.load_dataset(str(run_dir), split="train",
                                                              cache_dir=str(run_dir.parent / "cache"))}
    row = datasets.load_from_disk(str(shards))["train"][0]
    assert tok(docs[row["doc_id"]])["input_ids"] + [tok.eos_token_id] == row["input_ids"]
    assert tok.decode(row["input_ids"], skip_special_tokens=True) == docs[row["doc_id"]]


def test_pad_token_is_the_reserved_one(tmp_path, tokenizer_file):
    from corpuskit.tokenize.hf import special_tokens

    assert special_tokens({"eot_token": "<e>", "pad_token": "<p>", "bos_token": None}) == {
        "eos_token": "<e>", "pad_token": "<p>"}


def test_load_dataset_on_the_run_folder_gives_documents_and_on_shards_the_tokens(run_dir):
    cache = str(run_dir.parent / "cache")
    stats = json.loads((run_dir / "stats.json").read_text())
    docs = datasets.load_dataset(str(run_dir), cache_dir=cache)
    assert list(docs) == ["train"] and docs["train"].column_names == ["id", "text", "source", "metadata"]
    assert docs["train"].num_rows == stats["documents_out"]  # not the rejected ones, not the tokens
    tokens = datasets.load_dataset(str(run_dir / "shards"), cache_dir=cache)
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    assert {k: v.num_rows for k, v in tokens.items()} == {k: s["n_documents"] for k, s in manifest["splits"].items()}


def test_a_users_readme_is_never_overwritten(tmp_path):
    from corpuskit.card import write_card
    from corpuskit.layout import RunPaths

    paths = RunPaths(tmp_path)
    paths.card.write_text("# my notes\n")
    logs = []
    assert write_card(paths, logs.append) is None
    assert paths.card.read_text() == "# my notes\n" and "left as it is" in logs[0]


def test_a_split_that_loses_its_documents_loses_its_hf_files(tmp_path, corpus, tokenizer_file):
    from corpuskit.tokenize.standalone import shard_corpus

    out = tmp_path / "shards"
    shard_corpus(corpus[0], out, tokenizer_file, {"test": 0.2}, eot_token="<|endoftext|>", log=lambda m: None)
    assert (out / "test" / "state.json").is_file()
    shard_corpus(corpus[0], out, tokenizer_file, {"test": 0.0}, eot_token="<|endoftext|>", log=lambda m: None)
    assert not (out / "test").exists()
    assert sorted(datasets.load_from_disk(str(out))) == ["train", "validation"]
