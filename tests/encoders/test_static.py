"""The static tower: weighted mean by hand, fast tokenisation equal to the common path, save/load, frozen tables and
training (padding independence and training steps: test_light_towers.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import LONGER, SHORT
from towers import small_static

from textsiam import SiameseModel
from textsiam.encoders import ENCODERS, StaticConfig, StaticEncoder
from textsiam.encoders.base import pretokenize_batch

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_weighted_mean_by_hand(tiny_model):
    model = small_static(tiny_model)
    enc = model.encoder
    with torch.no_grad():
        enc.token_weight.weight.normal_()  # weights differ per token
    features = model.tokenize([SHORT])
    ids = features["input_ids"][0]
    with torch.inference_mode():
        got = model.embed(features)[0]
        w = enc.token_weight.weight[ids, 0].exp()  # (T,)
        want = (w[:, None] * enc.embedding.weight[ids]).sum(0) / w.sum()
    torch.testing.assert_close(got, want)
    assert model.embedding_dim == tiny_model.encoder.input_embeddings().weight.shape[1]
    plain = small_static(tiny_model, token_weights=False)
    with torch.inference_mode():
        torch.testing.assert_close(plain.embed(features)[0], plain.encoder.embedding.weight[ids].mean(0))


@pytest.mark.parametrize("max_seq_length", [5, 12, 256])
def test_fast_pretokenize_equals_the_transformers_call(tiny_model, max_seq_length):
    model = small_static(tiny_model, max_seq_length=max_seq_length)
    texts = [SHORT, *LONGER, "", "naïve café — ünïcödé 😀 text", "   spaces   ", "x " * 300]
    fast = model.encoder.pretokenize(texts)
    common = pretokenize_batch(model.encoder.tokenizer, texts, max_seq_length)
    assert fast.columns["input_ids"] == common.columns["input_ids"]
    assert fast.n_truncated == common.n_truncated and np.array_equal(fast.lengths, common.lengths)
    features, n_cut = model.encoder.tokenize(texts)
    assert n_cut == fast.n_truncated
    np.testing.assert_array_equal(fast.collate(range(len(texts)))["input_ids"].numpy(), features["input_ids"].numpy())


def test_fast_backend_follows_max_seq_length(tiny_model):
    model = small_static(tiny_model, max_seq_length=8)
    assert max(model.encoder.pretokenize(LONGER).lengths) == 8
    model.max_seq_length = 16
    assert max(model.encoder.pretokenize(LONGER).lengths) > 8


def test_save_load_round_trip_and_registry(tiny_model, tmp_path):
    model = small_static(tiny_model, embeddings="random", embedding_dim=12)
    with torch.no_grad():
        model.encoder.token_weight.weight.normal_()
    model.save(tmp_path / "s")
    loaded = SiameseModel.from_pretrained(tmp_path / "s", device="cpu")
    assert isinstance(loaded.encoder, StaticEncoder) and loaded.embedding_dim == 12
    np.testing.assert_array_equal(loaded.encode(LONGER), model.encode(LONGER))
    assert ENCODERS["static"] is StaticEncoder
    assert StaticEncoder.padding_invariant  # one forward pass for several batches (test_light_towers.py checks it)


def test_bad_settings():
    with pytest.raises(ValueError, match=r"StaticConfig\.token_weights must be true or false, got 'yes'"):
        StaticConfig(token_weights="yes").check()
    with pytest.raises(ValueError, match="unknown pooling 'max' for StaticEncoder"):
        StaticEncoder(StaticConfig(pooling="max"), tokenizer=None)


def test_frozen_tables_do_not_train_and_unfrozen_ones_do(tiny_model):
    frozen = small_static(tiny_model, freeze_embeddings=True)
    assert not any(p.requires_grad for p in frozen.parameters())
    free = small_static(tiny_model)
    assert [t.weight.requires_grad for t in free.encoder.lookup_tables()] == [True, True]
    features = free.tokenize([SHORT, LONGER[0]])
    before = free.encoder.embedding.weight.detach().clone()
    optimizer = torch.optim.SGD(free.parameters(), lr=1.0)
    emb = free.embed(features)
    (1 - torch.nn.functional.cosine_similarity(emb[0], emb[1], dim=0)).backward()
    optimizer.step()
    used = features["input_ids"].unique()
    changed = (free.encoder.embedding.weight.detach() != before).any(dim=1)
    assert changed[used].any() and not changed[~torch.isin(torch.arange(len(changed)), used)].any()
