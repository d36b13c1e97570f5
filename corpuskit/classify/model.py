"""A model folder: `weights.npz` (arrays only, read with `allow_pickle=False`) and `card.json`.

The card says what the arrays are (`format`, the features), where they came from (the
training data), how they did (dev metrics) and how to use them (the default threshold); it
also holds the weights file's sha256, so a weights file that was cut short, changed or mixed
up with another folder's is refused with a message naming it, not scored with. A folder
written by another version of the code (another `format`) is refused the same way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from corpuskit.errors import ConfigError

WEIGHTS_FILE, CARD_FILE = "weights.npz", "card.json"


class ModelError(ConfigError):
    """A model folder that this version cannot use: missing, from another version, or damaged."""


def save_model(folder: str | Path, card: dict, **arrays) -> Path:
    """Write `weights.npz` then `card.json` (with the weights' sha256) into `folder`, each atomically.

    The same arrays and card give the same bytes (`train.save_npz`, sorted JSON keys).
    """
    from corpuskit.classify.train import save_npz
    from corpuskit.io import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_npz(folder / WEIGHTS_FILE, **arrays)
    card = {**card, "weights_sha256": hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()}
    atomic_write_text(folder / CARD_FILE, json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return folder


def load_model(folder: str | Path, fmt: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(card, arrays) of a model folder whose card says `format: fmt`; ModelError naming the file otherwise."""
    folder = Path(folder)
    card_path, weights_path = folder / CARD_FILE, folder / WEIGHTS_FILE
    if not card_path.is_file() or not weights_path.is_file():
        raise ModelError(f"{folder}: not a model folder (needs {CARD_FILE} and {WEIGHTS_FILE})")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{card_path}: not a model card ({err})") from None
    if not isinstance(card, dict) or card.get("format") != fmt:
        found = card.get("format") if isinstance(card, dict) else None
        raise ModelError(f"{card_path}: a model of format {found!r}; this version of corpuskit reads {fmt!r} "
                         "(retrain it with this version)")
    raw = weights_path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != card.get("weights_sha256"):
        raise ModelError(f"{weights_path}: does not match the sha256 in {CARD_FILE} (damaged or replaced)")
    import io

    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return card, arrays
