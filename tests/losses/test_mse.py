from __future__ import annotations

import pytest
import torch

from textsiam.losses import MSELoss


def test_known_values() -> None:
    student = torch.tensor([[1.0, 2.0]])
    teacher = torch.tensor([[0.0, 0.0]])
    assert MSELoss()(student, labels=teacher).item() == pytest.approx(2.5)
    # source and translation both regressed onto the teacher embedding of the source
    assert MSELoss()(student, torch.zeros(1, 2), teacher).item() == pytest.approx(1.25)


def test_teacher_gets_no_gradient() -> None:
    student = torch.randn(2, 3, requires_grad=True)
    teacher = torch.randn(2, 3, requires_grad=True)
    MSELoss()(student, labels=teacher).backward()
    assert teacher.grad is None and student.grad is not None


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    t = torch.randn(3, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x, y: MSELoss()(x, y, t), (a, b))


def test_tiny_bert_grads(encode, assert_model_grads) -> None:
    emb = encode(4)
    teacher = torch.randn(2, 16)
    assert_model_grads(MSELoss()(emb[:2], emb[2:], labels=teacher))


def test_bad_shapes() -> None:
    with pytest.raises(ValueError):
        MSELoss()(torch.zeros(2, 3), labels=torch.zeros(2, 4))
    with pytest.raises(ValueError):
        MSELoss()(torch.zeros(2, 3))
