"""A Hugging Face text-classification model from a local folder, as a unit scorer.

The folder is what `save_pretrained` writes (config, safetensors weights, tokenizer).
Nothing is downloaded (`local_files_only`), and only safetensors weights are accepted,
so loading a model never unpickles anything. The toxic class is the label named
`toxic` (or `label`), else `LABEL_1`, else the last class; a one-logit model is read
through a sigmoid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpuskit.classify.embedding import from_pretrained  # shared with the MiniLM encoder


_TOXIC_NAMES = ("toxic", "toxicity", "hate", "offensive", "abusive", "label_1", "1")


class HFScorer:
    """Probability of the toxic class for each unit, batched on CPU (or the model's device)."""

    def __init__(self, path: str | Path, batch_size: int = 32, max_length: int = 256, label: str = ""):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / "config.json").is_file():
            raise ValueError(f"{path}: not a saved Hugging Face model (no config.json)")
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = from_pretrained(AutoModelForSequenceClassification, path).eval()
        self.batch_size, self.max_length = batch_size, max_length
        self.index = self._toxic_index(label)

    def _toxic_index(self, label: str) -> int:
        id2label = {int(k): str(v).lower() for k, v in self.model.config.id2label.items()}
        n = self.model.config.num_labels
        wanted = (label.lower(),) if label else _TOXIC_NAMES
        for name in wanted:
            for i, lab in sorted(id2label.items()):
                if lab == name:
                    return i
        if label:
            raise ValueError(f"label {label!r} not among the model's labels {sorted(id2label.values())}")
        return n - 1

    def score_texts(self, texts: list[str]) -> np.ndarray:
        """Toxic-class probability of each text."""
        out = []
        with self.torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(texts[i:i + self.batch_size], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                logits = self.model(**batch).logits.float()  # (B, num_labels)
                if logits.shape[-1] == 1:
                    probs = self.torch.sigmoid(logits[:, 0])
                else:
                    probs = self.torch.softmax(logits, dim=-1)[:, self.index]
                out.append(probs.cpu().numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros(0)

    def __call__(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.score_texts([text[a:b] for a, b in spans])

    def score_many(self, items) -> list[np.ndarray]:
        """Unit scores of several (text, spans), in full batches across them."""
        from corpuskit.stages.toxicity.scorers import by_units

        return by_units(self.score_texts, items)
