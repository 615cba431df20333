"""Gradients of every registered loss: ``torch.autograd.gradcheck`` in float64, and a backward pass through a tiny BERT.

Each loss has one input factory per check below (its own inputs, as its call signature needs them). A loss added to
:data:`textsiam.losses.LOSSES` without both factories fails ``test_every_registered_loss_has_gradient_checks``.
"""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from textsiam.losses import (
    LOSSES,
    BinaryCrossEntropyLoss,
    ContrastiveLoss,
    CoSENTLoss,
    CosineSimilarityLoss,
    CrossEncoderMSELoss,
    CrossEntropyLoss,
    MSELoss,
    MultipleNegativesRankingLoss,
    OnlineContrastiveLoss,
    SimCSELoss,
    SoftmaxLoss,
    TripletLoss,
)

F64 = torch.float64
DISTANCES = ("euclidean", "manhattan", "cosine")
BATCH_TRIPLETS = ("batch_all_triplet", "batch_hard_triplet", "batch_semi_hard_triplet")


def _leaves(seed: int, n: int, *shape: int) -> list[torch.Tensor]:
    """``n`` float64 leaf tensors of ``shape`` drawn from one seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=F64, requires_grad=True) for _ in range(n)]


# ---------------------------------------------------------------------------------------------- gradcheck inputs
# factory() -> (loss module, function of the float64 inputs, inputs)
def _gc_batch_triplet(name: str, distance: str):
    def make():
        g = torch.Generator().manual_seed(3)
        x = torch.randn(6, 3, generator=g, dtype=F64, requires_grad=True)
        y = torch.tensor([0, 0, 1, 1, 2, 2])
        loss_fn = LOSSES[name](distance=distance, margin=5.0)
        return loss_fn, lambda e: loss_fn(e, y), (x,)

    return make


def _gc_contrastive(distance: str):
    def make():
        torch.manual_seed(0)
        u = torch.randn(4, 3, dtype=F64, requires_grad=True)
        v = torch.randn(4, 3, dtype=F64, requires_grad=True)
        y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=F64)
        loss_fn = ContrastiveLoss(distance, margin=3.0)
        return loss_fn, lambda a, b: loss_fn(a, b, y), (u, v)

    return make


def _gc_online_contrastive():
    torch.manual_seed(1)
    u = torch.randn(6, 3, dtype=F64, requires_grad=True)
    v = torch.randn(6, 3, dtype=F64, requires_grad=True)
    y = torch.tensor([1, 0, 1, 0, 1, 0])
    loss_fn = OnlineContrastiveLoss("euclidean", margin=3.0)
    return loss_fn, lambda a, b: loss_fn(a, b, y), (u, v)


def _gc_triplet(distance: str):
    def make():
        torch.manual_seed(2)
        a, p, n = (torch.randn(4, 3, dtype=F64, requires_grad=True) for _ in range(3))
        loss_fn = TripletLoss(distance, margin=5.0)
        return loss_fn, loss_fn, (a, p, n)

    return make


def _gc_mnrl():
    a, b, n = _leaves(1, 3, 3, 4)
    loss_fn = MultipleNegativesRankingLoss(scale=5.0, symmetric=True)
    return loss_fn, lambda x, y, z: loss_fn(x, y, negatives=z), (a, b, n)


def _gc_simcse():
    a, b = _leaves(1, 2, 3, 4)
    loss_fn = SimCSELoss(temperature=0.5)
    return loss_fn, loss_fn, (a, b)


def _gc_cosent():
    a, b = _leaves(2, 2, 4, 3)
    y = torch.tensor([0.1, 0.7, 0.4, 0.9], dtype=F64)
    loss_fn = CoSENTLoss(scale=5.0)
    return loss_fn, lambda x, z: loss_fn(x, z, y), (a, b)


def _gc_cosine_similarity(similarity: str):
    def make():
        a, b = _leaves(0, 2, 3, 4)
        y = torch.tensor([0.2, 0.9, 0.4], dtype=F64)
        loss_fn = CosineSimilarityLoss(similarity=similarity)
        return loss_fn, lambda x, z: loss_fn(x, z, y), (a, b)

    return make


def _gc_softmax():
    torch.manual_seed(0)
    loss_fn = SoftmaxLoss(4, 3, concat_multiplication=True).double()
    a, b = (torch.randn(3, 4, dtype=F64, requires_grad=True) for _ in range(2))
    y = torch.tensor([0, 2, 1])
    return loss_fn, lambda x, z: loss_fn(x, z, y), (a, b)


def _gc_mse():
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(3, 4, generator=g, dtype=F64, requires_grad=True) for _ in range(2))
    t = torch.randn(3, 4, generator=g, dtype=F64)
    loss_fn = MSELoss()
    return loss_fn, lambda x, y: loss_fn(x, y, t), (a, b)


def _gc_binary_cross_entropy(activation: str):
    def make():
        (z,) = _leaves(4, 1, 5, 1)
        y = torch.tensor([1.0, 0.0, 0.3, 1.0, 0.0], dtype=F64)
        loss_fn = BinaryCrossEntropyLoss(activation=activation, pos_weight=2.0)
        return loss_fn, lambda x: loss_fn(x, y), (z,)

    return make


def _gc_cross_entropy():
    (z,) = _leaves(5, 1, 4, 3)
    y = torch.tensor([0, 2, 1, 2])
    loss_fn = CrossEntropyLoss(label_smoothing=0.1)
    return loss_fn, lambda x: loss_fn(x, y), (z,)


def _gc_cross_encoder_mse():
    (z,) = _leaves(6, 1, 4, 1)
    y = torch.tensor([0.2, 0.9, 0.4, 0.0], dtype=F64)
    loss_fn = CrossEncoderMSELoss(activation="sigmoid")
    return loss_fn, lambda x: loss_fn(x, y), (z,)


GRADCHECK_CASES = [
    *(pytest.param(n, _gc_batch_triplet(n, d), id=f"{n}-{d}") for n in BATCH_TRIPLETS for d in DISTANCES),
    *(pytest.param("contrastive", _gc_contrastive(d), id=f"contrastive-{d}") for d in DISTANCES),
    pytest.param("online_contrastive", _gc_online_contrastive, id="online_contrastive-euclidean"),
    *(pytest.param("triplet", _gc_triplet(d), id=f"triplet-{d}") for d in DISTANCES),
    pytest.param("mnrl", _gc_mnrl, id="mnrl-symmetric-negatives"),
    pytest.param("simcse", _gc_simcse, id="simcse"),
    pytest.param("cosent", _gc_cosent, id="cosent"),
    *(
        pytest.param("cosine_similarity", _gc_cosine_similarity(s), id=f"cosine_similarity-{s}")
        for s in ("cosine", "malstm")
    ),
    pytest.param("softmax", _gc_softmax, id="softmax"),
    pytest.param("mse", _gc_mse, id="mse"),
    *(
        pytest.param("binary_cross_entropy", _gc_binary_cross_entropy(a), id=f"binary_cross_entropy-{a}")
        for a in ("identity", "tanh")
    ),
    pytest.param("cross_entropy", _gc_cross_entropy, id="cross_entropy"),
    pytest.param("cross_encoder_mse", _gc_cross_encoder_mse, id="cross_encoder_mse-sigmoid"),
]


# ---------------------------------------------------------------------------------------------- tiny BERT inputs
# factory(encode, tiny_bert) -> (loss module, scalar loss on the tiny BERT's embeddings)
def _bert_batch_triplet(name: str):
    def make(encode, tiny_bert):
        loss_fn = LOSSES[name](margin=5.0)
        return loss_fn, loss_fn(encode(6), torch.tensor([0, 0, 1, 1, 2, 2]))

    return make


def _bert_contrastive(encode, tiny_bert):
    emb, loss_fn = encode(4), ContrastiveLoss()
    return loss_fn, loss_fn(emb[:2], emb[2:], torch.tensor([1, 0]))


def _bert_online_contrastive(encode, tiny_bert):
    emb, loss_fn = encode(8), OnlineContrastiveLoss(margin=1.0)
    return loss_fn, loss_fn(emb[:4], emb[4:], torch.tensor([1, 0, 1, 0]))


def _bert_triplet(encode, tiny_bert):
    emb, loss_fn = encode(6), TripletLoss()
    return loss_fn, loss_fn(emb[:2], emb[2:4], emb[4:])


def _bert_mnrl(encode, tiny_bert):
    emb, loss_fn = encode(6), MultipleNegativesRankingLoss(symmetric=True)
    return loss_fn, loss_fn(emb[:2], emb[2:4], negatives=emb[4:])


def _bert_simcse(encode, tiny_bert):
    """SimCSE's two views: the same sentences through the BERT twice, dropout on (the test turns it off again)."""
    tiny_bert.train()
    torch.manual_seed(0)
    first, second = encode(4, seed=5), encode(4, seed=5)
    assert not torch.allclose(first, second), "dropout gave two identical views"
    loss_fn = SimCSELoss()
    return loss_fn, loss_fn(first, second)


def _bert_cosent(encode, tiny_bert):
    emb, loss_fn = encode(6), CoSENTLoss()
    return loss_fn, loss_fn(emb[:3], emb[3:], torch.tensor([0.2, 1.0, 0.6]))


def _bert_cosine_similarity(encode, tiny_bert):
    emb, loss_fn = encode(4), CosineSimilarityLoss()
    return loss_fn, loss_fn(emb[:2], emb[2:], torch.tensor([0.8, 0.1]))


def _bert_softmax(encode, tiny_bert):
    emb, loss_fn = encode(6), SoftmaxLoss(embedding_dim=16, num_labels=3)
    return loss_fn, loss_fn(emb[:3], emb[3:], torch.tensor([0, 1, 2]))


def _bert_mse(encode, tiny_bert):
    emb, loss_fn = encode(4), MSELoss()
    teacher = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    return loss_fn, loss_fn(emb[:2], emb[2:], labels=teacher)


def _bert_binary_cross_entropy(encode, tiny_bert):
    """A cross-encoder loss sees logits: here a linear read-out of the tiny BERT's embedding stands in for a head."""
    logits, loss_fn = encode(4)[:, :1], BinaryCrossEntropyLoss()
    return loss_fn, loss_fn(logits, torch.tensor([1.0, 0.0, 0.5, 1.0]))


def _bert_cross_entropy(encode, tiny_bert):
    logits, loss_fn = encode(4)[:, :3], CrossEntropyLoss()
    return loss_fn, loss_fn(logits, torch.tensor([0, 1, 2, 1]))


def _bert_cross_encoder_mse(encode, tiny_bert):
    logits, loss_fn = encode(4)[:, :1], CrossEncoderMSELoss()
    return loss_fn, loss_fn(logits, torch.tensor([1.0, 0.0, 0.5, 1.0]))


TINY_BERT_CASES = [
    *(pytest.param(n, _bert_batch_triplet(n), id=n) for n in BATCH_TRIPLETS),
    pytest.param("contrastive", _bert_contrastive, id="contrastive"),
    pytest.param("online_contrastive", _bert_online_contrastive, id="online_contrastive"),
    pytest.param("triplet", _bert_triplet, id="triplet"),
    pytest.param("mnrl", _bert_mnrl, id="mnrl"),
    pytest.param("simcse", _bert_simcse, id="simcse-two-dropout-passes"),
    pytest.param("cosent", _bert_cosent, id="cosent"),
    pytest.param("cosine_similarity", _bert_cosine_similarity, id="cosine_similarity"),
    pytest.param("softmax", _bert_softmax, id="softmax"),
    pytest.param("mse", _bert_mse, id="mse"),
    pytest.param("binary_cross_entropy", _bert_binary_cross_entropy, id="binary_cross_entropy"),
    pytest.param("cross_entropy", _bert_cross_entropy, id="cross_entropy"),
    pytest.param("cross_encoder_mse", _bert_cross_encoder_mse, id="cross_encoder_mse"),
]


# ---------------------------------------------------------------------------------------------- the checks
def test_every_registered_loss_has_gradient_checks() -> None:
    """A new loss in the registry needs a gradcheck case and a tiny-BERT case here."""
    for cases in (GRADCHECK_CASES, TINY_BERT_CASES):
        assert {case.values[0] for case in cases} == set(LOSSES)


@pytest.mark.parametrize(("name", "make"), GRADCHECK_CASES)
def test_gradcheck(name: str, make: Callable) -> None:
    loss_fn, fn, inputs = make()
    assert type(loss_fn) is LOSSES[name]
    assert all(x.dtype == F64 for x in inputs)
    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize(("name", "make"), TINY_BERT_CASES)
def test_tiny_bert_grads(name: str, make: Callable, tiny_bert, encode, assert_model_grads) -> None:
    """The loss backpropagates finite, non-zero gradients into the encoder, and into its own head if it has one."""
    try:
        loss_fn, loss = make(encode, tiny_bert)
        assert type(loss_fn) is LOSSES[name]
        assert_model_grads(loss)
    finally:
        tiny_bert.eval()
    head = dict(loss_fn.named_parameters())
    owns_head = loss_fn.has_classifier_head and loss_fn.model_type == "siamese"  # a cross-encoder's head is the model's
    assert bool(head) == owns_head
    for pname, p in head.items():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, pname
