import random

from corpuskit.document import Document
from corpuskit.tokenize.bpe import TokenizerConfig, load_tokenizer, sample_key, training_sample
from corpuskit.tokenize.inputs import InputDocuments
from corpuskit.tokenize.split import SplitConfig
from corpuskit.tokenize.steps import tokenizer_step

TEXTS = ["Hello world, the café is naïve.", "東京 😀 and\nnewlines\t tabs", "  leading spaces", "x" * 50]


def _train(corpus_path, out_dir, workers=1, **cfg):
    return tokenizer_step(InputDocuments(corpus_path), out_dir / "tokenizer.json", TokenizerConfig(**cfg),
                          SplitConfig(), workers=workers, record_file=out_dir / "training.json", log=lambda m: None)


def test_special_tokens_come_first_and_vocab_size_is_exact(corpus, tmp_path):
    path = _train(corpus[0], tmp_path, vocab_size=400, bos_token="<|bos|>", pad_token="<|pad|>")
    tok = load_tokenizer(path)
    assert tok.token_to_id("<|endoftext|>") == 0
    assert tok.token_to_id("<|bos|>") == 1
    assert tok.token_to_id("<|pad|>") == 2
    assert tok.get_vocab_size() == 400
    ids = tok.encode(TEXTS[0]).ids
    assert max(ids) > 258, "merges were learned"
    assert all(tok.decode(tok.encode(t).ids) == t for t in TEXTS), "byte-level BPE round-trips any text"


def test_training_is_byte_identical_for_1_and_2_workers(corpus, tmp_path):
    a = _train(corpus[0], tmp_path / "a", workers=1, vocab_size=512).read_bytes()
    b = _train(corpus[0], tmp_path / "b", workers=2, vocab_size=512).read_bytes()
    c = _train(corpus[0], tmp_path / "c", workers=2, vocab_size=512).read_bytes()
    assert a == b == c


def test_transformers_loads_it_and_gives_identical_ids(tokenizer_file):
    from transformers import PreTrainedTokenizerFast

    tok = load_tokenizer(tokenizer_file)
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file))
    for text in TEXTS:
        assert hf(text)["input_ids"] == tok.encode(text).ids
        assert hf.decode(hf(text)["input_ids"]) == text
    assert hf.convert_tokens_to_ids("<|endoftext|>") == 0


def test_trains_on_the_train_split_only():
    split = SplitConfig(validation=0.3)
    docs = [Document(text=f"text {i}", id=f"id{i}") for i in range(300)]
    sample = training_sample(docs, split, budget=10**9)
    assert list(sample.texts) == [d.text for d in docs if split.assign(d.id) == "train"]
    assert 0 < sample.n_documents < 300


def test_byte_budget_sample_is_deterministic_and_order_independent():
    split = SplitConfig(validation=0.1)
    docs = [Document(text="w" * (10 + i % 50), id=f"id{i}") for i in range(500)]
    full = training_sample(docs, split, budget=10**9)
    small = training_sample(docs, split, budget=full.n_bytes // 4)
    assert small.n_bytes <= full.n_bytes // 4 and small.n_bytes > full.n_bytes // 5
    assert small.n_train_bytes == full.n_bytes
    shuffled = docs[:]
    random.Random(1).shuffle(shuffled)
    again = training_sample(shuffled, split, budget=full.n_bytes // 4)
    assert sorted(again.texts) == sorted(small.texts)
    # the sample is exactly the smallest keys that fit
    train = sorted((sample_key(d.id), len(d.text)) for d in docs if split.assign(d.id) == "train")
    total, expected = 0, 0
    for _, n in train:
        if total + n > full.n_bytes // 4:
            break
        total += n
        expected += 1
    assert small.n_documents == expected


def test_rerun_is_skipped_and_a_changed_config_retrains(corpus, tmp_path):
    logs = []
    out = tmp_path / "t"
    tokenizer_step(InputDocuments(corpus[0]), out / "tokenizer.json", TokenizerConfig(vocab_size=300), SplitConfig(),
                   record_file=out / "r.json", log=logs.append)
    tokenizer_step(InputDocuments(corpus[0]), out / "tokenizer.json", TokenizerConfig(vocab_size=300), SplitConfig(),
                   record_file=out / "r.json", log=logs.append)
    tokenizer_step(InputDocuments(corpus[0]), out / "tokenizer.json", TokenizerConfig(vocab_size=320), SplitConfig(),
                   record_file=out / "r.json", log=logs.append)
    assert "trained" in logs[0] and "up to date" in logs[1] and "trained" in logs[2]
    assert load_tokenizer(out / "tokenizer.json").get_vocab_size() == 320


def test_an_existing_tokenizer_file_is_used_instead_of_training(corpus, tokenizer_file, tmp_path):
    logs = []
    out = tokenizer_step(InputDocuments(corpus[0]), tmp_path / "tokenizer.json",
                         TokenizerConfig(file=str(tokenizer_file)), SplitConfig(), record_file=tmp_path / "r.json",
                         log=logs.append)
    assert out.read_bytes() == tokenizer_file.read_bytes()
    assert "using" in logs[0]
