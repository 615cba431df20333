"""What every light tower (CNN, LSTM, static) must do: embed a text the same however far its batch is padded, and
learn from a few optimizer steps. The tower-specific checks are in test_cnn.py, test_lstm.py and test_static.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import LONGER, SHORT
from towers import LIGHT_TOWERS

from textsiam.losses import CoSENTLoss, CosineSimilarityLoss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


PADDING_CASES = [
    pytest.param("cnn", {}, id="cnn"),
    pytest.param("cnn", {"kernel_sizes": [2, 4, 5]}, id="cnn-kernels-2-4-5"),
    pytest.param("cnn", {"pooling": "mean", "activation": "tanh"}, id="cnn-mean-tanh"),
    pytest.param("lstm", {"pooling": "last", "bidirectional": True, "num_layers": 2}, id="lstm-last-bi-2layers"),
    pytest.param("lstm", {"pooling": "last", "bidirectional": False}, id="lstm-last-uni"),
    pytest.param("lstm", {"pooling": "max", "bidirectional": True}, id="lstm-max-bi"),
    pytest.param("lstm", {"pooling": "mean", "bidirectional": True, "num_layers": 2}, id="lstm-mean-bi-2layers"),
    pytest.param("static", {}, id="static"),
]


@pytest.mark.parametrize(("kind", "settings"), PADDING_CASES)
def test_embedding_does_not_depend_on_padding(tiny_model, kind, settings):
    model = LIGHT_TOWERS[kind](tiny_model, **settings)
    token_weight = getattr(model.encoder, "token_weight", None)
    if token_weight is not None:  # the static tower's per-token weights: not all equal, so the mean is weighted
        with torch.no_grad():
            token_weight.weight.normal_()
    alone = model.encode([SHORT])  # (1, D), no padding
    in_batch = model.encode([SHORT, *LONGER], batch_size=8)  # one batch, SHORT padded to the longest
    features = model.tokenize([SHORT, *LONGER])
    n = int(features["attention_mask"][0].sum())
    assert n < features["attention_mask"].shape[1]  # really padded
    np.testing.assert_allclose(in_batch[0], alone[0], atol=1e-6)
    # padded by hand with garbage ids under a zero mask: still the same
    ids = features["input_ids"].clone()
    ids[0, n:] = 1234
    with torch.inference_mode():
        emb = model.embed({"input_ids": ids, "attention_mask": features["attention_mask"]})
    np.testing.assert_allclose(emb[0].numpy(), alone[0], atol=1e-6)


TRAINING_CASES = [
    pytest.param("cnn", {}, CoSENTLoss, {}, 0.01, 10, id="cnn-cosent"),
    # the MaLSTM objective: MSE between exp(-||u - v||_1) and the gold score
    pytest.param(
        "lstm",
        {"hidden_size": 8, "bidirectional": False, "pooling": "last", "similarity": "malstm"},
        CosineSimilarityLoss,
        {"similarity": "malstm"},
        0.02,
        15,
        id="lstm-malstm",
    ),
    pytest.param("static", {}, CoSENTLoss, {}, 0.01, 10, id="static-cosent"),
]


@pytest.mark.parametrize(("kind", "settings", "loss_cls", "loss_kwargs", "lr", "steps"), TRAINING_CASES)
def test_training_steps_lower_the_loss(tiny_model, kind, settings, loss_cls, loss_kwargs, lr, steps):
    """A few Adam steps on fixed pairs at least halve the loss."""
    model = LIGHT_TOWERS[kind](tiny_model, **settings)
    a = ["a man plays a guitar", "the cat sleeps", "stocks fell today", "a woman is cooking"]
    b = ["a person plays guitar", "markets rose sharply", "the kitten is asleep", "a dog runs in a park"]
    y = torch.tensor([0.9, 0.1, 0.8, 0.05])
    loss_fn = loss_cls(**loss_kwargs)
    fa, fb = model.tokenize(a), model.tokenize(b)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(*model(fa, fb), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_every_light_tower_is_covered():
    """A new light tower in towers.LIGHT_TOWERS needs a padding case and a training case here."""
    for cases in (PADDING_CASES, TRAINING_CASES):
        assert {case.values[0] for case in cases} == set(LIGHT_TOWERS)
