"""A small synthetic corpus (built here, offline) and a tokenizer trained on it."""

from __future__ import annotations

import json
import random

import pytest

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there had been one all we their has would when if so no will more what up out "
         "about into than them can only other time new some could these two may first then do any like my now "
         "over such our man me even most made after also did many before must through back years where much your "
         "way well down should because each just those people how too little good very make world still own see "
         "men work long here between both life being under never day same another know while last might great "
         "old year off come since against go came right used take three").split() + ["café", "naïve", "東京", "😀"]


def make_records(n: int = 240, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 120))]
        recs.append({"id": f"doc-{i:04d}", "text": " ".join(words).capitalize() + "."})
    # a literal special token inside text must stay text
    recs.append({"id": "doc-special", "text": "before <|endoftext|> after, the end"})
    recs.append({"id": "doc-empty", "text": ""})
    return recs


def write_jsonl(path, records) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """(path of a JSONL corpus, its records)."""
    recs = make_records()
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    write_jsonl(path, recs)
    return path, recs


@pytest.fixture(scope="session")
def tokenizer_file(corpus, tmp_path_factory):
    from corpuskit.tokenize.bpe import TokenizerConfig
    from corpuskit.tokenize.inputs import InputDocuments
    from corpuskit.tokenize.split import SplitConfig
    from corpuskit.tokenize.steps import tokenizer_step

    out = tmp_path_factory.mktemp("tok")
    return tokenizer_step(InputDocuments(corpus[0]), out / "tokenizer.json", TokenizerConfig(vocab_size=512),
                          SplitConfig(), workers=2, record_file=out / "training.json", log=lambda m: None)


@pytest.fixture(scope="session")
def synth():
    """The corpus builders, for tests that need their own input files."""
    return make_records, write_jsonl
