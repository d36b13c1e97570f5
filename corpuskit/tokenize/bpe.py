"""Byte-level BPE tokenizer training (GPT-2 style), deterministic.

The tokenizer is assembled from explicit parts, as `tokenizers` intends:

    normalizer:     none (the text is already normalized by the pipeline's stages)
    pre-tokenizer:  ByteLevel(add_prefix_space=False), GPT-2's regex split then bytes -> unicode
    model:          BPE over the 256 byte symbols, merges learned on the train split only
    post-processor: ByteLevel(trim_offsets=False): no tokens added (end-of-text is added by the shards)
    decoder:        ByteLevel

Special tokens come first, so `<|endoftext|>` is id 0, then the optional BOS and PAD.
Training sees the train split only, in document order; for large corpora a byte budget
picks a deterministic sample: the documents whose hash of the id is smallest, up to the
budget, so the sample does not depend on the order or the number of workers. The same
documents and configuration give a byte-identical `tokenizer.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from corpuskit.document import Document
from corpuskit.errors import ConfigError
from corpuskit.io import atomic_write_text
from corpuskit.tokenize.config import EOT, TokenizerConfig
from corpuskit.tokenize.split import SplitConfig

if TYPE_CHECKING:
    from tokenizers import Tokenizer

class TokenizerFileError(ConfigError, FileNotFoundError):
    """A tokenizer file is missing or is not a tokenizer.json; the message names it."""


@contextlib.contextmanager
def tokenizer_threads(workers: int) -> Iterator[None]:
    """Run `tokenizers` single-threaded for workers == 1, on its thread pool otherwise.

    `tokenizers` reads TOKENIZERS_PARALLELISM at every batch call, so this can change
    within a process. Outputs do not depend on it: only speed does.
    """
    old = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false" if workers <= 1 else "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = old


def new_tokenizer() -> "Tokenizer":
    """An untrained GPT-2 style byte-level BPE tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def sample_key(doc_id: str) -> int:
    """The training sample's ordering key; independent of the split hash."""
    return int.from_bytes(hashlib.blake2b(b"tokenizer-sample\0" + doc_id.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass
class TrainingSample:
    texts: Iterable[str]
    n_documents: int
    n_bytes: int
    n_train_documents: int  # in the whole train split
    n_train_bytes: int


def training_sample(docs: Iterable[Document], split: SplitConfig, budget: int) -> TrainingSample:
    """The train split's texts (in document order), or a deterministic sample of them under `budget` bytes.

    One pass keeps the texts while they fit the budget (the common case: one read). When
    the train split is larger, a second pass keeps the documents with the smallest
    `sample_key` whose sizes add up to at most the budget.
    """
    keys: list[int] = []
    sizes: list[int] = []
    kept: list[str] | None = []
    total = 0
    for doc in docs:
        if not doc.text or split.assign(doc.id) != "train":
            continue
        n = len(doc.text.encode("utf-8"))
        keys.append(sample_key(doc.id))
        sizes.append(n)
        total += n
        if kept is not None:
            if total <= budget:
                kept.append(doc.text)
            else:
                kept = None  # over budget: sample in a second pass instead
    if kept is not None:
        return TrainingSample(kept, len(kept), total, len(kept), total)
    key_arr = np.array(keys, dtype=np.uint64)
    order = np.argsort(key_arr, kind="stable")
    within = np.cumsum(np.array(sizes, dtype=np.int64)[order]) <= budget
    chosen = order[within]
    threshold = int(key_arr[order[len(chosen)]])  # the first key left out
    picked = [t for t in _texts_below(docs, split, threshold)]
    return TrainingSample(picked, len(picked), sum(len(t.encode("utf-8")) for t in picked), len(keys), total)


def _texts_below(docs: Iterable[Document], split: SplitConfig, threshold: int) -> Iterator[str]:
    for doc in docs:
        if doc.text and split.assign(doc.id) == "train" and sample_key(doc.id) < threshold:
            yield doc.text


def train_tokenizer(texts: Iterable[str], cfg: TokenizerConfig, workers: int = 1, length: int | None = None) -> "Tokenizer":
    """Train byte-level BPE on `texts` (fed in the given order)."""
    from tokenizers import pre_tokenizers, trainers

    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=cfg.special_tokens,
        # every byte gets a token even if the sample lacks it, so no text is ever unencodable
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    with tokenizer_threads(workers):
        tok.train_from_iterator(texts, trainer=trainer, length=length)
    return tok


def save_tokenizer(tok: "Tokenizer", path: Path) -> None:
    atomic_write_text(Path(path), tok.to_str(pretty=True))


def load_tokenizer(path: str | Path) -> "Tokenizer":
    path = Path(path)
    if not path.is_file():
        raise TokenizerFileError(f"tokenizer file not found: {path}")
    return parse_tokenizer(path.read_bytes(), path)


def parse_tokenizer(data: bytes, path: str | Path) -> "Tokenizer":
    """A tokenizer from the bytes of a tokenizer.json (read and checked by the caller); `path` names it in errors."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except Exception as err:  # tokenizers raises a bare Exception for a file it cannot parse
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TokenizerFileError(f"{path}: not a Hugging Face tokenizer.json ({first})") from None


def special_token_ids(tok: "Tokenizer") -> dict[str, int]:
    """Every special token of `tok` and its id, in id order."""
    added = tok.get_added_tokens_decoder()
    return {t.content: i for i, t in sorted(added.items()) if t.special}


def token_id(tok: "Tokenizer", token: str | None, role: str) -> int | None:
    """The id of a special token named in the configuration; a clear error when it is missing."""
    if token is None:
        return None
    i = tok.token_to_id(token)
    if i is None:
        raise ConfigError(f"the tokenizer has no {role} token {token!r}; set {role}_token to one of its tokens")
    return i
