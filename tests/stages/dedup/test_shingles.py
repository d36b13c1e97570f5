import numpy as np
import pytest
from datasketch import MinHash

from corpuskit.stages.dedup.shingles import normalize_words, shingle_hashes
from corpuskit.stages.dedup.signatures import MinHasher, band_hashes, lsh_params, s_curve_threshold


def test_normalization_folds_case_punctuation_and_digits():
    assert normalize_words("Hello, WORLD! It's page 12…") == ["hello", "world", "it", "s", "page", "00"]
    assert normalize_words("«Bonjour» — 2024") == ["bonjour", "0000"]


def test_punctuation_and_symbols_break_words_instead_of_gluing_them():
    """Older Gutenberg editions: `well--I`, backtick quotes, `_italics_`, a dash made of '-' + soft hyphen."""
    same = ["Well--I said `I won't' to _him_.", "Well—I said \u201cI won\u2019t\u201d to him.",
            "Well-\u00adI said 'I won't' to him.", "well i said i won t to him"]
    assert {tuple(normalize_words(t)) for t in same} == {("well", "i", "said", "i", "won", "t", "to", "him")}
    assert normalize_words("co\u00adoperate zero\u200bwidth") == ["cooperate", "zerowidth"]  # invisible: joins
    assert normalize_words("a+b=c $5 <tag> x|y ~z^") == ["a", "b", "c", "0", "tag", "x", "y", "z"]
    hashes = [shingle_hashes([t], 5)[0].tolist() for t in same]
    assert all(h == hashes[0] for h in hashes)


def test_ascii_fast_path_equals_the_general_path():
    from corpuskit.stages.dedup.shingles import _word_bytes

    ascii_text = "".join(chr(c) for c in range(32, 127)) + " Don't--stop `now' 1999\x1c\x1dend\tTab"
    assert _word_bytes(ascii_text) == [w.encode() for w in normalize_words(ascii_text)]
    mixed = ascii_text + " Caf\u00e9 \u00abna\u00efve\u00bb \u2014 \u0661\u0662 co\u00adop \u00a0 \u2603 \U0001F600x"
    assert _word_bytes(mixed) == [w.encode() for w in normalize_words(mixed)]


def test_same_words_same_shingles_despite_formatting():
    a, oa = shingle_hashes(["The cat sat on the mat, said 12 people."], 5)
    b, ob = shingle_hashes(["the CAT sat on the mat said 99 people"], 5)
    assert a.tolist() == b.tolist() and len(a) == 5  # 9 words -> 5 five-grams


def test_short_documents_get_one_shingle_and_empty_ones_none():
    hashes, offsets = shingle_hashes(["one two", "three", "", "?!", "a b c d e f"], 5)
    assert np.diff(offsets).tolist() == [1, 1, 0, 0, 2]
    # word order matters, and a short text differs from a longer one that starts the same
    h2, _ = shingle_hashes(["two one", "one two three"], 5)
    assert hashes[0] != h2[0] and hashes[0] != h2[1]


def test_shingles_do_not_cross_document_boundaries():
    together, offs = shingle_hashes(["a b c d e f", "g h i j k"], 5)
    alone_a, _ = shingle_hashes(["a b c d e f"], 5)
    alone_b, _ = shingle_hashes(["g h i j k"], 5)
    assert together.tolist() == alone_a.tolist() + alone_b.tolist()


def test_signatures_equal_datasketch_minhash():
    texts = ["alpha beta gamma delta epsilon zeta eta theta", "short", "", "x y z w v u t s r q p"]
    hashes, offsets = shingle_hashes(texts, 3)
    sig = MinHasher(64, seed=7).signatures(hashes, offsets)
    for i in range(len(texts)):
        ref = MinHash(num_perm=64, seed=7, hashfunc=lambda x: x)
        ref.update_batch([int(h) for h in hashes[offsets[i]:offsets[i + 1]]])
        assert sig[i].tolist() == ref.hashvalues.tolist()


def test_band_hashes_equal_only_for_equal_bands():
    sig = np.arange(3 * 16, dtype=np.uint32).reshape(3, 16)
    sig[1, :8] = sig[0, :8]
    b = band_hashes(sig, 2, 8)
    assert b[0, 0] == b[1, 0] and b[0, 1] != b[1, 1] and b[0, 0] != b[2, 0]


def test_lsh_params():
    assert lsh_params(None, 112, None, None) == (14, 8)
    assert lsh_params(None, 112, 7, 16) == (7, 16)
    bands, rows = lsh_params(0.9, 112, None, None)
    assert bands * rows <= 112 and s_curve_threshold(bands, rows) > s_curve_threshold(14, 8)
    assert abs(s_curve_threshold(14, 8) - 0.719) < 0.001


def test_permutations_are_datasketchs():
    from corpuskit.stages.dedup.signatures import datasketch_permutations

    for num_perm, seed in ((112, 1), (64, 7), (3, 12345)):
        a, b = datasketch_permutations(num_perm, seed)
        ref = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        assert a.tolist() == ref[0].tolist() and b.tolist() == ref[1].tolist()


def test_ascii_fast_path_matches_unicode_path():
    from corpuskit.stages.dedup.shingles import _word_bytes

    text = "Mr. Darcy's 3rd letter\x1cwas--\"in\" [brackets] & $5 <tags> a_b C:\\path\t\u00e9"
    ascii_text = text[:-2]
    assert _word_bytes(ascii_text) == [w.encode() for w in normalize_words(ascii_text)]
    assert _word_bytes(text) == [w.encode() for w in normalize_words(text)]


def test_a_word_hashes_the_same_wherever_it_is():
    from corpuskit.stages.dedup.shingles import _word_hashes

    words, counts = _word_hashes(["Alpha, beta  gamma", "", "gamma alpha", "alphabet beta-gamma"])
    assert counts.tolist() == [3, 0, 2, 3]
    alpha, beta, gamma = words[:3].tolist()
    assert words[3:5].tolist() == [gamma, alpha] and words[6:8].tolist() == [beta, gamma]
    assert len({alpha, beta, gamma, int(words[5])}) == 4  # "alphabet" is not "alpha"


def test_a_document_longer_than_a_block_gets_datasketchs_signature():
    """A long document's signature is a running minimum over blocks of shingles: the same values."""
    from helpers.dedup import prose

    from corpuskit.stages.dedup.signatures import _BLOCK

    texts = ["short one here", prose(5, words=2 * _BLOCK + 99), prose(6, words=40), prose(7, words=_BLOCK + 4)]
    hashes, offsets = shingle_hashes(texts, 5)
    sig = MinHasher(112, seed=1).signatures(hashes, offsets)
    for i in range(len(texts)):
        ref = MinHash(num_perm=112, seed=1, hashfunc=lambda x: x)
        ref.update_batch([int(h) for h in hashes[offsets[i]:offsets[i + 1]]])
        assert sig[i].tolist() == ref.hashvalues.tolist()


@pytest.mark.parametrize("block", [64, 1000, None])
def test_a_batch_cut_into_blocks_gets_datasketchs_signatures(monkeypatch, block):
    """Many documents of every length (empty, shorter than n, across block edges, longer than a
    block): each row is datasketch's signature, whatever the block size."""
    import random

    from corpuskit.stages.dedup import signatures
    from helpers.dedup import prose

    if block:
        monkeypatch.setattr(signatures, "_BLOCK", block)
    rng = random.Random(block)
    texts = [prose(i, words=rng.choice([0, 1, 3, 40, 63, 64, 65, 300, 1100])) for i in range(120)]
    hashes, offsets = shingle_hashes(texts, 5)
    sig = MinHasher(112, seed=3).signatures(hashes, offsets)
    for i in range(len(texts)):
        ref = MinHash(num_perm=112, seed=3, hashfunc=lambda x: x)
        ref.update_batch([int(h) for h in hashes[offsets[i]:offsets[i + 1]]])
        assert sig[i].tolist() == ref.hashvalues.tolist(), i


def test_text_cut_into_pieces_hashes_the_same(monkeypatch):
    """A huge text is hashed in pieces cut at spaces, and a word longer than a piece in chunks:
    the shingles are those of the text hashed whole."""
    from corpuskit.stages.dedup import shingles
    from helpers.dedup import prose

    texts = [prose(1, words=400), "", "?!", "  lead and trail  ", "x" * 100 + " y  z " + "w" * 37,
             "Caf\u00e9 \u00abna\u00efve\u00bb \u2014 don\u2019t " * 20, "a" * 64]
    whole = [shingle_hashes(texts, n) for n in (1, 5)]
    for chunk in (16, 5, 1):
        monkeypatch.setattr(shingles, "_CHUNK", chunk)
        for (h, off), n in zip(whole, (1, 5)):
            h2, off2 = shingle_hashes(texts, n)
            assert h2.tolist() == h.tolist() and off2.tolist() == off.tolist()


def test_one_huge_document_is_minhashed_in_bounded_memory(monkeypatch):
    """Issue 33/13: one 100 MB text took ~10 GB (its shingles x 112 permutations at once, and
    ~40 bytes a character of prefix sums). Now memory grows with its words, not words x 112."""
    import tracemalloc

    from corpuskit.stages.dedup import shingles

    monkeypatch.setattr(shingles, "_CHUNK", 1 << 16, raising=False)  # pieces of 64 KB
    text = " ".join(f"w{i % 5003}" for i in range(600_000))  # 4 MB, 600k shingles
    tracemalloc.start()
    try:
        hashes, offsets = shingle_hashes([text], 5)
        _, peak_shingles = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        MinHasher(112, seed=1).signatures(hashes, offsets)
        _, peak_sig = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # whole: 4 MB x ~40 bytes of prefix sums (~160 MB); 600k x 112 x 4 bytes (~270 MB)
    assert peak_shingles < 40e6 and peak_sig < 16e6, (peak_shingles, peak_sig)
