"""Softmax classification loss over pair features (SBERT NLI objective)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_labels, check_pair


class SoftmaxLoss(SiameseLoss):
    r"""Classify a pair from the features ``(u, v, |u - v|, u * v)`` with a trainable linear head.

    .. math::

        o = \mathrm{softmax}\big(W\, [u;\ v;\ |u - v|;\ u \ast v] + b\big), \qquad L = \mathrm{CE}(o, y)

    (the parts actually concatenated are chosen by the flags; SBERT's default is ``(u, v, |u - v|)``).
    **This loss owns parameters**: ``self.classifier = nn.Linear(k * embedding_dim, num_labels)``;
    the optimizer must include ``loss.parameters()`` besides the encoder's, and the loss must be
    moved to the encoder's device. The head is usually discarded after training.

    Args:
        embedding_dim: dimension ``D`` of the sentence embeddings.
        num_labels: number of classes (3 for NLI: entailment / neutral / contradiction).
        concat_rep: include ``u`` and ``v``.
        concat_difference: include ``|u - v|``.
        concat_multiplication: include ``u * v``.
        loss_fct: a ``(logits, target) -> scalar`` module, ``nn.CrossEntropyLoss()`` by default.

    References:
        * Reimers & Gurevych (2019), "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
          EMNLP, https://arxiv.org/abs/1908.10084
        * Conneau et al. (2017), "Supervised Learning of Universal Sentence Representations from Natural
          Language Inference Data" (InferSent), https://arxiv.org/abs/1705.02364

    Requirements:
        1. (sentence_a, sentence_b) pairs with an integer class label in ``[0, num_labels)``.

    Inputs:
        +--------------------------------+-------------+
        | Inputs                         | Labels      |
        +================================+=============+
        | (sentence_a, sentence_b) pairs | class label |
        +--------------------------------+-------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels: (B,) int) -> scalar``;
        ``logits(emb_a, emb_b) -> (B, num_labels)`` for prediction.

    Relations:
        - :class:`MultipleNegativesRankingLoss` on (anchor, entailment, contradiction) triplets usually
          gives better embeddings from the same NLI data.

    Example:
        ::

            import torch
            from textsiam.losses import SoftmaxLoss

            loss_fn = SoftmaxLoss(embedding_dim=16, num_labels=3)
            optimizer = torch.optim.AdamW([*encoder.parameters(), *loss_fn.parameters()], lr=2e-5)
            loss = loss_fn(emb_a, emb_b, labels)  # emb_*: (B, 16), labels: (B,) in {0, 1, 2}
    """

    label_kind = "class"
    min_batch_size = 2
    has_classifier_head = True

    def __init__(
        self,
        embedding_dim: int,
        num_labels: int,
        concat_rep: bool = True,
        concat_difference: bool = True,
        concat_multiplication: bool = False,
        loss_fct: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if embedding_dim < 1 or num_labels < 2:
            raise ValueError(f"need embedding_dim >= 1 and num_labels >= 2, got {embedding_dim}, {num_labels}")
        self.embedding_dim = int(embedding_dim)
        self.num_labels = int(num_labels)
        self.concat_rep = bool(concat_rep)
        self.concat_difference = bool(concat_difference)
        self.concat_multiplication = bool(concat_multiplication)
        k = 2 * self.concat_rep + self.concat_difference + self.concat_multiplication
        if k == 0:
            raise ValueError("SoftmaxLoss needs at least one of concat_rep / concat_difference / concat_multiplication")
        self.classifier = nn.Linear(k * self.embedding_dim, self.num_labels)
        self.loss_fct = loss_fct if loss_fct is not None else nn.CrossEntropyLoss()

    def features(self, emb_a: Tensor, emb_b: Tensor) -> Tensor:
        """The concatenated pair features, ``(B, D), (B, D) -> (B, k * D)``."""
        parts: list[Tensor] = []
        if self.concat_rep:
            parts += [emb_a, emb_b]
        if self.concat_difference:
            parts.append((emb_a - emb_b).abs())
        if self.concat_multiplication:
            parts.append(emb_a * emb_b)
        return torch.cat(parts, dim=1)  # (B, k * D)

    def logits(self, emb_a: Tensor, emb_b: Tensor) -> Tensor:
        """Class scores of each pair, ``(B, D), (B, D) -> (B, num_labels)``."""
        emb_b = check_pair(emb_a, emb_b, type(self).__name__)
        if emb_a.shape[1] != self.embedding_dim:
            raise ValueError(f"SoftmaxLoss was built for embedding_dim={self.embedding_dim}, got {emb_a.shape[1]}")
        feats = self.features(emb_a, emb_b)  # (B, k * D)
        return self.classifier(feats.to(self.classifier.weight.dtype))  # (B, num_labels)

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        logits = self.logits(emb_a, emb_b)  # type: ignore[arg-type]  # (B, num_labels)
        y = check_labels(labels, emb_a.shape[0], type(self).__name__)  # (B,)
        if y.is_floating_point() and not bool((y == y.round()).all()):
            raise ValueError("SoftmaxLoss expects integer class labels")
        y = y.long()
        if bool((y < 0).any()) or bool((y >= self.num_labels).any()):
            raise ValueError(f"SoftmaxLoss labels must lie in [0, {self.num_labels}), got {y.tolist()}")
        return self.loss_fct(logits, y)

    def extra_repr(self) -> str:
        return (
            f"concat_rep={self.concat_rep}, concat_difference={self.concat_difference}, "
            f"concat_multiplication={self.concat_multiplication}"
        )
