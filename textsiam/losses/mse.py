"""Embedding distillation loss: MSE between student and teacher embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_tensor


class MSELoss(SiameseLoss):
    r"""Mean squared error between student embeddings and (fixed) teacher embeddings.

    .. math::

        L = \frac{1}{B\, D} \sum_{i=1}^{B} \lVert \hat{s}_i - t_i \rVert_2^2

    Used for knowledge distillation and for making a model multilingual: the teacher embeds the
    source sentence ``s``; the student is trained so that both ``s`` and its translation ``t``
    map to that teacher embedding. When ``emb_b`` is given, both student batches are regressed
    onto the same teacher embeddings (the loss is averaged over all ``2 B D`` entries).

    Args:
        none.

    References:
        * Reimers & Gurevych (2020), "Making Monolingual Sentence Embeddings Multilingual using Knowledge
          Distillation", EMNLP, https://arxiv.org/abs/2004.09813

    Requirements:
        1. Sentences (or source/translation pairs) with precomputed teacher embeddings as labels.
        2. Student and teacher embedding dimensions must match.

    Inputs:
        +---------------------------------------+--------------------------+
        | Inputs                                | Labels                   |
        +=======================================+==========================+
        | sentence_1 [, sentence_2]             | teacher embedding (B, D) |
        +---------------------------------------+--------------------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D) | None = None, labels: (B, D)) -> scalar``; ``labels`` are
        the teacher embeddings (detached here: no gradient flows into the teacher).

    Example:
        ::

            import torch
            from textsiam.losses import MSELoss

            loss_fn = MSELoss()
            student = torch.tensor([[1.0, 2.0]])
            teacher = torch.tensor([[0.0, 0.0]])
            loss_fn(student, labels=teacher)  # (1 + 4) / 2 = 2.5
    """

    label_kind = "teacher"
    batch_mode = "teacher"
    label_free = True
    needs_teacher = True

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        check_tensor(emb_a, "MSELoss: emb_a")
        if labels is None:
            raise ValueError("MSELoss needs the teacher embeddings as labels")
        teacher = check_tensor(labels, "MSELoss: labels (teacher embeddings)").detach()
        if teacher.dim() != 2:
            raise ValueError(f"teacher embeddings must be (B, D), got shape {tuple(teacher.shape)}")
        students = [emb_a] if emb_b is None else [emb_a, check_tensor(emb_b, "MSELoss: emb_b")]
        for s in students:
            if s.shape != teacher.shape:
                raise ValueError(
                    f"student embeddings {tuple(s.shape)} and teacher embeddings {tuple(teacher.shape)} differ in shape"
                )
        student = torch.cat(students)  # (n * B, D)
        target = teacher.repeat(len(students), 1).to(student.dtype)  # (n * B, D)
        return F.mse_loss(student, target)
