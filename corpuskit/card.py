"""The run folder's dataset card, `OUTPUT/README.md`: `datasets.load_dataset(OUTPUT)` reads the kept documents.

Without a card, `load_dataset` on a run folder would guess its files and pick the token
shards (or the rejected documents). The card's one config, `default`, names the kept
documents, part-*.parquet (or .jsonl): id, text, source, metadata (JSON).

The token shards are not a second config: `datasets` reads every config of a folder with
the builder inferred from the first one (parquet or json, in datasets 2.x to 5.x), which
cannot read Arrow files. They are a dataset of their own, `load_dataset(OUTPUT/shards)`
(their card is written with them, tokenize/hf.py) or `load_from_disk(OUTPUT/shards)`.

The card is rewritten at the end of every run. A README.md that corpuskit did not write
(it lacks the MARK line) is left alone: the folder may hold a user's own card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from corpuskit.io import atomic_write_text
from corpuskit.layout import OUTPUT_GLOB, RunPaths

MARK = "<!-- written by corpuskit after every run; delete this line to keep your own edits -->"


def card_text(paths: RunPaths) -> str:
    """The card for the finished run in `paths.root`."""
    import yaml

    stats = json.loads(paths.stats.read_text(encoding="utf-8")) if paths.stats.is_file() else {}
    documents = {"config_name": "default", "data_files": [{"split": "train", "path": f"{OUTPUT_GLOB}.{paths.fmt}"}]}
    header = yaml.safe_dump({"configs": [documents], "tags": ["corpuskit"]}, sort_keys=False)
    kept, seen = stats.get("documents_out"), stats.get("documents_in")
    # Nothing in the card depends on where the folder is: the same run gives the same bytes anywhere.
    lines = [
        f"---\n{header}---",
        MARK,
        "",
        "# corpuskit documents",
        "",
        "Documents cleaned, de-duplicated and filtered by corpuskit"
        + (f": {kept:,} kept of {seen:,}." if isinstance(kept, int) and isinstance(seen, int) else "."),
        "",
        "```python",
        "import datasets",
        'RUN_DIR = "path/to/this/folder"',
        "docs = datasets.load_dataset(RUN_DIR)  # the kept documents: id, text, source, metadata (JSON)",
    ]
    if paths.shards_manifest.is_file():
        lines += ['tokens = datasets.load_dataset(f"{RUN_DIR}/shards")  # input_ids, doc_id, n_tokens by split',
                  'same = datasets.load_from_disk(f"{RUN_DIR}/shards")  # the same shards in place, no copy']
    lines += ["```", "", "Per-stage counts: `stats.json`; dropped documents and their reasons: `rejected/`; "
              "the resolved configuration: `config.json`.", ""]
    return "\n".join(lines)


def write_card(paths: RunPaths, log: Callable[[str], None] = print) -> Path | None:
    """Write `paths.card` unless a README.md that is not corpuskit's is there; returns it, or None."""
    card = paths.card
    if card.exists() and MARK not in card.read_text(encoding="utf-8", errors="replace"):
        log(f"card: {card} was not written by corpuskit; left as it is")
        return None
    atomic_write_text(card, card_text(paths))
    return card
