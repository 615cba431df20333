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


def test_bad_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"student embeddings \(2, 3\) and teacher embeddings \(2, 4\) differ in shape"
    ):
        MSELoss()(torch.zeros(2, 3), labels=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="needs the teacher embeddings as labels"):
        MSELoss()(torch.zeros(2, 3))
