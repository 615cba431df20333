"""The fast encode path: one tokenizer pass, token-length sorting, per-batch padding; threads; torch int8."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import SENTENCES

from textsiam import SiameseModel
from textsiam.encoders.base import tokenize_batch


def test_pretokenized_batches_equal_tokenized_batches(tiny_model):
    enc = tiny_model.encoder
    pre = enc.pretokenize(SENTENCES)
    assert pre is not None and len(pre) == len(SENTENCES) and pre.n_truncated == 0
    idx = [5, 0, 4, 6]
    batch = pre.collate(idx)
    expected, _ = tokenize_batch(enc.tokenizer, [SENTENCES[i] for i in idx], enc.max_seq_length)
    assert set(batch) == set(expected)
    for k in expected:
        torch.testing.assert_close(batch[k], expected[k])


def test_pretokenize_counts_truncation(tiny_model):
    long = " ".join(["word"] * 200)
    pre = tiny_model.encoder.pretokenize([long, "short", long])
    assert pre.n_truncated == 2 and pre.lengths.max() == tiny_model.max_seq_length


def test_fallback_without_pretokenize_gives_the_same(tiny_model, monkeypatch):
    fast = tiny_model.encode(SENTENCES, batch_size=3)
    monkeypatch.setattr(tiny_model.encoder, "pretokenize", lambda texts: None)
    slow = tiny_model.encode(SENTENCES, batch_size=3)
    np.testing.assert_allclose(fast, slow, atol=1e-6)


def test_model_default_num_threads(tiny_model_dir, monkeypatch):
    model = SiameseModel.from_pretrained(tiny_model_dir, num_threads=1)
    assert model.num_threads == 1
    seen = []
    original = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), original(n)))
    model.encode(SENTENCES)
    assert seen and seen[0] == 1  # set for the call, then restored
    seen.clear()
    model.encode(SENTENCES, num_threads=2)
    assert seen[0] == 2
    with pytest.raises(ValueError, match="num_threads"):
        SiameseModel.from_pretrained(tiny_model_dir, num_threads=0)


def test_torch_int8(tiny_model_dir, tmp_path):
    ref = SiameseModel.from_pretrained(tiny_model_dir)
    q = SiameseModel.from_pretrained(tiny_model_dir, backend="torch", quantize="int8")
    assert q.encoder.quantize == "int8"
    a, b = q.encode(SENTENCES), ref.encode(SENTENCES)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.9
    with pytest.raises(ValueError, match="cannot be saved"):
        q.save(tmp_path / "q")


@pytest.mark.slow
def test_default_model_matches_plain_hf_forward(default_model):
    """encode's batching (sorted, padded per batch) stays within 1e-4 of an unpadded HF forward per text."""
    from transformers import AutoModel, AutoTokenizer

    from textsiam.model.siamese import default_model_path

    path = default_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    hf = AutoModel.from_pretrained(path).eval()
    texts = [*SENTENCES, "Two dogs run through a field of tall grass while the sun sets behind the hills. " * 3]
    expected = []
    with torch.inference_mode():
        for t in texts:
            f = tok(t, truncation=True, max_length=256, return_tensors="pt")
            h = hf(**f).last_hidden_state[0]  # (T, H), no padding at all
            expected.append(torch.nn.functional.normalize(h.mean(0), dim=-1).numpy())
    np.testing.assert_allclose(default_model.encode(texts, batch_size=4), np.stack(expected), atol=1e-4)
