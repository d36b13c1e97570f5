"""The Hugging Face files of a shard directory: it opens with `datasets` and `transformers` as it is.

    dataset_dict.json                 {"splits": [...]}: the splits that hold documents
    SPLIT/state.json                  the split's shard files, in order, for `datasets.load_from_disk`
    SPLIT/dataset_info.json           a description; the features come from the shards' Arrow schema
    tokenizer_config.json             `AutoTokenizer.from_pretrained(SHARDS)`: a fast tokenizer whose
    special_tokens_map.json           eos is the token between documents (and bos / pad where reserved)
    README.md                         a dataset card whose `configs:` make `load_dataset(SHARDS)` read the splits

`datasets` stores a `save_to_disk` dataset as Arrow IPC stream files listed in
`state.json`; the shards are such files, so `load_from_disk(SHARDS)` memory-maps them in
place, without a copy. A split without documents has no shard and is left out (`datasets`
cannot open a split with no file). Nothing here holds a timestamp: the files are as
deterministic as the shards they describe.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from corpuskit.io import atomic_write_text

DATASET_DICT = "dataset_dict.json"
STATE = "state.json"
DATASET_INFO = "dataset_info.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
CARD = "README.md"
SPLIT_FILES = (STATE, DATASET_INFO)  # inside each split folder
TOP_FILES = (DATASET_DICT, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, CARD)  # at the top of the shard directory


def _dump(path: Path, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def special_tokens(tokenizer: dict) -> dict[str, str]:
    """eos, bos and pad for `transformers`, from the manifest's `tokenizer` section.

    eos is the end-of-text token the shards put after every document. pad is the reserved
    pad token, or else eos (as for GPT-2: padded positions are masked, so any id works and
    padding never fails). bos is set only where one is reserved: the shards hold none.
    """
    eos = tokenizer["eot_token"]
    tokens = {"eos_token": eos, "pad_token": tokenizer.get("pad_token") or eos}
    if tokenizer.get("bos_token"):
        tokens["bos_token"] = tokenizer["bos_token"]
    return tokens


def tokenizer_config(tokenizer: dict) -> dict:
    """`tokenizer_config.json`: a `PreTrainedTokenizerFast` over tokenizer.json that adds no tokens
    when encoding (the shards append end-of-text themselves) and decodes text exactly."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special_tokens(tokenizer),
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def _fingerprint(split: dict) -> str:
    """What `datasets` uses to name cached transforms: here, a hash of the split's shard checksums."""
    h = hashlib.sha256()
    for shard in split["shards"]:
        h.update(shard["sha256"].encode("ascii"))
    return h.hexdigest()[:16]


def write_hf_files(shards_dir: Path, manifest: dict) -> list[Path]:
    """Write the files above for `manifest` into `shards_dir`; returns them. Call before the manifest."""
    root = Path(shards_dir)
    splits = [name for name, split in manifest["splits"].items() if split["shards"]]
    written = [root / DATASET_DICT]
    _dump(written[0], {"splits": splits})
    for name in splits:
        split = manifest["splits"][name]
        state = {
            "_data_files": [{"filename": Path(s["file"]).name} for s in split["shards"]],
            "_fingerprint": _fingerprint(split),
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": name,
        }
        info = {
            "description": (f"corpuskit shards, {name} split: one row per document; input_ids end with "
                            f"{manifest['tokenizer']['eot_token']!r} (id {manifest['tokenizer']['eot_id']}). "
                            "See manifest.json."),
            "citation": "",
            "homepage": "",
            "license": "",
        }
        _dump(root / name / STATE, state)
        _dump(root / name / DATASET_INFO, info)
        written += [root / name / STATE, root / name / DATASET_INFO]
    _dump(root / TOKENIZER_CONFIG, tokenizer_config(manifest["tokenizer"]))
    _dump(root / SPECIAL_TOKENS_MAP, special_tokens(manifest["tokenizer"]))
    atomic_write_text(root / CARD, card(splits, manifest["tokenizer"]))
    return written + [root / TOKENIZER_CONFIG, root / SPECIAL_TOKENS_MAP, root / CARD]


def card(splits: list[str], tokenizer: dict) -> str:
    """The shard directory's card: one config whose splits are the shard files, so `load_dataset`
    does not have to guess them among the JSON files."""
    import yaml

    files = [{"split": name, "path": f"{name}/*.arrow"} for name in splits]
    header = yaml.safe_dump({"configs": [{"config_name": "default", "data_files": files}],
                             "tags": ["corpuskit", "tokenized"]}, sort_keys=False)
    return (f"---\n{header}---\n# corpuskit shards\n\nOne row per document: `input_ids` (ending with "
            f"{tokenizer['eot_token']!r}, id {tokenizer['eot_id']}), `doc_id`, `n_tokens`. Open them in place with "
            "`datasets.load_from_disk(THIS_FOLDER)`, the tokenizer with `transformers.AutoTokenizer.from_pretrained"
            "(THIS_FOLDER)`; `manifest.json` has the counts and checksums (docs/SHARDS.md).\n")
