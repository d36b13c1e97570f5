"""Compressed input: every compression says when a file is cut short, and keeps what came before."""

import gzip
import json
import random

import pytest
import zstandard
from helpers.collect import read_all

COMPRESS = {".gz": gzip.compress, ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


def _prose(n_words: int, seed: int = 0) -> str:
    """Text that does not compress to nothing, so that a cut file still holds whole blocks."""
    rng = random.Random(seed)
    words = ["river", "lamp", "winter", "letter", "sister", "village", "mill", "street", "evening", "news"]
    return " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(n_words))


@pytest.mark.parametrize("suffix", COMPRESS)
def test_truncated_text_archive_is_quarantined_with_what_came_before_the_cut(tmp_path, suffix):
    text = _prose(100_000)
    packed = COMPRESS[suffix](text.encode())
    (tmp_path / f"cut.txt{suffix}").write_bytes(packed[: len(packed) * 2 // 3])
    (tmp_path / "ok.txt").write_text("fine\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    [(doc, reason, detail)] = rejected
    assert (doc.source, reason) == (f"cut.txt{suffix}", "truncated_archive")
    assert f"cut.txt{suffix}" in detail
    assert len(doc.text) > 1000 and text.startswith(doc.text)  # nothing decoded is lost


@pytest.mark.parametrize("suffix", COMPRESS)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_truncated_records_keep_the_records_before_the_cut(tmp_path, suffix, fmt):
    texts = [f"document {i} " + _prose(20, seed=i) for i in range(2000)]
    if fmt == "jsonl":
        raw = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    else:
        raw = "text\n" + "".join(f"{t}\n" for t in texts)
    packed = COMPRESS[suffix](raw.encode())
    (tmp_path / f"d.{fmt}{suffix}").write_bytes(packed[: len(packed) // 2])
    docs, rejected = read_all(tmp_path)
    assert 0 < len(docs) < 2000
    assert [d.text for d in docs] == texts[: len(docs)]
    [(doc, reason, detail)] = rejected
    assert reason == "truncated_archive"
    first_line = 1 if fmt == "jsonl" else 2
    assert doc.source == f"d.{fmt}{suffix}:{len(docs) + first_line}"  # the line where the cut is
    assert texts[len(docs)].startswith(doc.text.removeprefix('{"text": "'))  # the unfinished line is kept


def test_zst_of_several_frames_is_read_to_the_end(tmp_path):
    frames = b"".join(zstandard.ZstdCompressor().compress(f'{{"text": "frame {i}"}}\n'.encode()) for i in range(3))
    (tmp_path / "d.jsonl.zst").write_bytes(frames)
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [d.text for d in docs] == ["frame 0", "frame 1", "frame 2"]


def test_gzip_of_several_members_with_zero_padding_is_read_to_the_end(tmp_path):
    data = gzip.compress(b'{"text": "one"}\n') + gzip.compress(b'{"text": "two"}\n') + b"\0" * 512
    (tmp_path / "d.jsonl.gz").write_bytes(data)
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [d.text for d in docs] == ["one", "two"]


@pytest.mark.parametrize("suffix", COMPRESS)
def test_data_that_is_not_compressed_is_a_corrupt_archive(tmp_path, suffix):
    (tmp_path / f"d.txt{suffix}").write_bytes(b"plain text, not compressed at all\n")
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [(r[0].source, r[1]) for r in rejected] == [(f"d.txt{suffix}", "truncated_archive")]


@pytest.mark.parametrize("suffix", COMPRESS)
def test_empty_compressed_file_is_an_empty_file(tmp_path, suffix):
    (tmp_path / f"d.txt{suffix}").write_bytes(COMPRESS[suffix](b""))
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [(r[0].source, r[1]) for r in rejected] == [(f"d.txt{suffix}", "empty_file")]


@pytest.mark.parametrize("suffix", COMPRESS)
def test_a_flipped_byte_keeps_no_document_of_the_corrupt_member(tmp_path, suffix):
    # Corrupt deflate data decodes to garbage for a while before the checksum at the member's
    # end fails: nothing of the member is kept; all it decoded is the rejected record's text.
    texts = [f"document {i} " + _prose(20, seed=i) for i in range(2000)]
    raw = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    packed = bytearray(gzip.compress(raw, mtime=0) if suffix == ".gz"
                       else zstandard.ZstdCompressor(write_checksum=True).compress(raw))
    packed[len(packed) // 2] ^= 0x10
    (tmp_path / f"flip.jsonl{suffix}").write_bytes(bytes(packed))
    (tmp_path / "ok.jsonl").write_text('{"text": "fine"}\n')
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    [(doc, reason, detail)] = rejected
    assert (reason, doc.source) == ("truncated_archive", f"flip.jsonl{suffix}:1")
    assert detail.startswith(f"flip.jsonl{suffix}:1: not valid ") and "are not read" in detail
    assert doc.text.startswith(json.dumps({"text": texts[0]}))  # nothing decoded is lost from sight
