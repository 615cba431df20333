"""The cross-encoder losses (#26): each equals sentence-transformers' loss of the same name on the same logits and
labels (their losses run the model themselves; ours take its logits), and its formula by hand; bad inputs fail."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import (
    LOSSES,
    BinaryCrossEntropyLoss,
    CrossEncoderMSELoss,
    CrossEntropyLoss,
    get_loss,
    losses_for,
)

PAIRS = [
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("A cat sits on the mat.", "Stocks fell sharply on Monday."),
    ("How do I learn Python?", "Learn Python in a month."),
    ("It rains.", "The sun shines."),
]


@pytest.fixture(scope="module")
def st_models(default_tokenizer, tmp_path_factory):
    """sentence-transformers' CrossEncoder of a tiny random BERT (one label and three labels), in eval mode."""
    st = pytest.importorskip("sentence_transformers")
    from cross_encoders import make_tiny_cross_encoder

    out = {}
    for n in (1, 3):
        path = tmp_path_factory.mktemp("ce") / f"tiny{n}"
        make_tiny_cross_encoder(default_tokenizer, num_labels=n, seed=n).save(path)
        model = st.CrossEncoder(str(path), device="cpu")
        model.eval()
        out[n] = model
    return out


def st_logits(model, pairs) -> torch.Tensor:
    """The logits sentence-transformers' losses see: ``model(model.preprocess(pairs))["scores"]``."""
    from sentence_transformers.util import batch_to_device

    features = batch_to_device(model.preprocess(list(pairs)), model.device)
    return model(features)["scores"]


def columns(pairs):
    return [[a for a, _ in pairs], [b for _, b in pairs]]


# ---------------------------------------------------------------------------------------------- against ST
@pytest.mark.parametrize(
    ("ours", "kwargs"),
    [
        (BinaryCrossEntropyLoss(), {}),
        (BinaryCrossEntropyLoss(pos_weight=3.0), {"pos_weight": torch.tensor(3.0)}),
        (BinaryCrossEntropyLoss(activation="tanh"), {"activation_fn": torch.nn.Tanh()}),
    ],
    ids=["default", "pos_weight", "tanh"],
)
def test_binary_cross_entropy_equals_sentence_transformers(st_models, ours, kwargs):
    from sentence_transformers.cross_encoder import losses as st_losses

    model = st_models[1]
    labels = torch.tensor([1.0, 0.0, 0.7, 0.2])
    with torch.no_grad():
        theirs = st_losses.BinaryCrossEntropyLoss(model, **kwargs)(columns(PAIRS), labels)
        mine = ours(st_logits(model, PAIRS), labels)
    assert mine.item() == pytest.approx(theirs.item(), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("activation", ["identity", "sigmoid"])
def test_mse_equals_sentence_transformers(st_models, activation):
    from sentence_transformers.cross_encoder import losses as st_losses

    model = st_models[1]
    labels = torch.tensor([0.9, 0.1, 0.6, 0.0])
    module = torch.nn.Identity() if activation == "identity" else torch.nn.Sigmoid()
    with torch.no_grad():
        theirs = st_losses.MSELoss(model, activation_fn=module)(columns(PAIRS), labels)
        mine = CrossEncoderMSELoss(activation=activation)(st_logits(model, PAIRS), labels)
    assert mine.item() == pytest.approx(theirs.item(), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_equals_sentence_transformers(st_models, smoothing):
    from sentence_transformers.cross_encoder import losses as st_losses

    model = st_models[3]
    labels = torch.tensor([0, 2, 1, 2])
    with torch.no_grad():
        theirs = st_losses.CrossEntropyLoss(model, label_smoothing=smoothing)(columns(PAIRS), labels)
        mine = CrossEntropyLoss(label_smoothing=smoothing)(st_logits(model, PAIRS), labels)
    assert mine.item() == pytest.approx(theirs.item(), rel=1e-6, abs=1e-7)


# ---------------------------------------------------------------------------------------------- by hand
def test_binary_cross_entropy_by_hand():
    logits, y = torch.tensor([[0.0], [2.0], [-1.0]]), torch.tensor([1.0, 0.0, 0.25])

    def term(z: float, t: float, w: float = 1.0) -> float:
        p = 1 / (1 + math.exp(-z))
        return -(w * t * math.log(p) + (1 - t) * math.log(1 - p))

    expected = sum(term(z, t) for z, t in [(0.0, 1.0), (2.0, 0.0), (-1.0, 0.25)]) / 3
    assert BinaryCrossEntropyLoss()(logits, y).item() == pytest.approx(expected)
    weighted = sum(term(z, t, 4.0) for z, t in [(0.0, 1.0), (2.0, 0.0), (-1.0, 0.25)]) / 3
    assert BinaryCrossEntropyLoss(pos_weight=4.0)(logits, y).item() == pytest.approx(weighted)
    assert BinaryCrossEntropyLoss()(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0])).item() == pytest.approx(
        (math.log(2) + math.log(1 + math.e**2)) / 2
    )


def test_cross_entropy_by_hand():
    logits = torch.tensor([[1.0, 3.0, 2.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([1, 0])
    expected = ((math.log(math.e + math.e**3 + math.e**2) - 3) + math.log(3)) / 2
    assert CrossEntropyLoss()(logits, y).item() == pytest.approx(expected)
    assert CrossEntropyLoss()(logits, y.float()).item() == pytest.approx(expected)  # integer-valued floats


def test_mse_is_on_the_raw_logit_by_default():
    logits, y = torch.tensor([[0.5], [2.0]]), torch.tensor([1.0, 0.0])
    assert CrossEncoderMSELoss()(logits, y).item() == pytest.approx((0.25 + 4.0) / 2)
    s = [1 / (1 + math.exp(-0.5)), 1 / (1 + math.exp(-2.0))]
    expected = ((s[0] - 1) ** 2 + s[1] ** 2) / 2
    assert CrossEncoderMSELoss(activation="sigmoid")(logits, y).item() == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------- declared and checked
def test_the_losses_declare_that_they_train_a_cross_encoder():
    assert losses_for("cross_encoder") == ["binary_cross_entropy", "cross_entropy", "cross_encoder_mse"]
    assert "cosent" in losses_for("siamese") and "binary_cross_entropy" not in losses_for("siamese")
    for name in losses_for("cross_encoder"):
        cls = LOSSES[name]
        assert cls.batch_mode == "logits" and cls.model_type == "cross_encoder"
        assert cls.single_logit is (name != "cross_entropy")
    assert LOSSES["cross_entropy"].label_kind == "class" and LOSSES["cross_entropy"].has_classifier_head
    assert get_loss("cross_entropy", label_smoothing=0.1).get_config() == {
        "activation": "identity",
        "label_smoothing": 0.1,
    }


def test_bad_logits_and_labels_fail_with_a_message():
    with pytest.raises(ValueError, match=r"needs one logit per pair \(a cross-encoder with num_labels=1\)"):
        BinaryCrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropyLoss()(torch.zeros(2, 1), torch.tensor([0.0, 4.5]))
    with pytest.raises(ValueError, match="expects 2 labels \\(one per pair\\), got 3"):
        CrossEncoderMSELoss()(torch.zeros(2, 1), torch.zeros(3))
    with pytest.raises(ValueError, match=r"needs one logit per class, \(B, C\) with C >= 2"):
        CrossEntropyLoss()(torch.zeros(2, 1), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="expects integer class labels"):
        CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="unknown activation 'relu'; choose one of"):
        CrossEncoderMSELoss(activation="relu")
    with pytest.raises(ValueError, match="pos_weight must be a number > 0 or None"):
        BinaryCrossEntropyLoss(pos_weight=0)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        CrossEntropyLoss(label_smoothing=1.0)
