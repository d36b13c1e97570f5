"""Small hand-made inputs shared by tests."""

GUTENBERG_BOOK = (
    "\ufeffThe Project Gutenberg EBook of A Test Book\r\n"
    "\r\n"
    "Release Date: never\r\n"
    "\r\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK A TEST BOOK ***\r\n"
    "\r\n"
    "Chapter 1\r\n"
    "\r\n"
    "It was a bright cold day in April, and the clocks were striking thirteen.\r\n"
    "The hall smelt of boiled cabbage and old rag mats.\r\n"
    "\r\n"
    "Outside, even through the shut window-pane, the world looked cold.\r\n"
    "\r\n"
    "End of the Project Gutenberg EBook of A Test Book\r\n"
    "\r\n"
    "*** END OF THIS PROJECT GUTENBERG EBOOK A TEST BOOK ***\r\n"
    "\r\n"
    "Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\r\n"
)


def unchecked_strings(values: list[bytes]):
    """An Arrow string column holding these bytes as they are, valid UTF-8 or not: what another
    tool may have written to Parquet (pyarrow checks strings it builds, corpuskit's writer never
    writes invalid UTF-8)."""
    import numpy as np
    import pyarrow as pa

    offsets = np.cumsum([0] + [len(v) for v in values], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()),
                                                            pa.py_buffer(b"".join(values))])
