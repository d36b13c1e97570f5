"""The Hugging Face adapter, on a tiny BERT classifier built and saved in the test (no downloads)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from corpuskit.document import Document  # noqa: E402
from corpuskit.stages.toxicity.stage import ToxicityFilter  # noqa: E402

WORDS = ["idiot", "moron", "hate", "you", "lovely", "garden", "day", "the", "a"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-class BERT, trained in seconds to call texts with 'idiot' or 'moron' toxic."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=8, max_position_embeddings=32, num_labels=2,
                        id2label={0: "clean", 1: "toxic"}, label2id={"clean": 0, "toxic": 1})
    model = BertForSequenceClassification(config)
    # A few steps of training on a toy task are enough to give the model a clear opinion.
    texts = ["you idiot", "idiot moron", "hate you idiot", "a lovely garden", "the lovely day", "a day"]
    labels = torch.tensor([1, 1, 1, 0, 0, 0])
    batch = fast(texts, padding=True, return_tensors="pt")
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(60):
        opt.zero_grad()
        model(**batch, labels=labels).loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(path)  # safetensors by default
    fast.save_pretrained(path)
    return path


def test_adapter_scores_units_with_the_saved_model(tiny_model):
    from corpuskit.stages.toxicity.hf import HFScorer

    scorer = HFScorer(tiny_model)
    assert scorer.index == 1
    scores = scorer.score_texts(["you idiot", "a lovely garden day"])  # padded into one batch
    assert scores.shape == (2,)
    assert np.all((0 <= scores) & (scores <= 1))
    assert scores[0] > 0.5 > scores[1]


def test_stage_drives_the_hf_model(tiny_model):
    stage = ToxicityFilter(scorer="hf", model=str(tiny_model), unit="line")
    docs = [Document(text="you idiot\nidiot idiot\na lovely day", id="bad"),
            Document(text="a lovely garden\nthe day", id="good")]
    kept = list(stage(docs))
    assert [d.id for d in kept] == ["good"]
    assert stage.stats.counters == {"dropped_toxic": 1}


def test_missing_model_folder_is_a_clear_error(tmp_path):
    from corpuskit.stages.toxicity.hf import HFScorer

    with pytest.raises(ValueError, match="config.json"):
        HFScorer(tmp_path)
