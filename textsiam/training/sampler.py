"""A seeded batch sampler that can keep duplicate texts out of one batch.

In-batch-negative losses (MultipleNegativesRankingLoss, SimCSE) treat every other example of the batch as a
negative, so the same text twice in one batch is a false negative. :class:`SiameseBatchSampler` shuffles the
examples with a generator seeded by ``seed + epoch`` and, with ``no_duplicates=True``, fills each batch
greedily in that order, postponing an example whose text is already in the batch to the next batch.

The order depends only on ``(seed, epoch)``: it is reproducible, it is the same in a run resumed from a
checkpoint, and it never touches a global RNG. :class:`~textsiam.training.trainer.SiameseTrainer` calls
:meth:`~SiameseBatchSampler.set_epoch` through ``transformers.Trainer`` at the start of each epoch.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)

__all__ = ["SiameseBatchSampler"]


class SiameseBatchSampler(Sampler[list[int]]):
    """Yield lists of example indices, shuffled per epoch, optionally without repeated texts in a batch.

    Args:
        texts: for each example, the texts whose repetition in a batch is forbidden (e.g. ``(text_a, text_b)``).
            Only needed with ``no_duplicates``; otherwise pass the number of examples as ``num_examples``.
        batch_size: examples per batch.
        seed: base seed; epoch ``e`` uses ``seed + e``.
        no_duplicates: keep a text out of a batch that already holds it.
        drop_last: drop the final incomplete batch.
        shuffle: shuffle per epoch (``False``: input order).
        num_examples: dataset size when ``texts`` is not given.

    The number of batches is ``ceil(n / batch_size)`` (``floor`` with ``drop_last``), except when duplicates
    make the final batches smaller; ``len()`` is always exact for the current epoch.
    """

    def __init__(
        self,
        texts: Sequence[Sequence[str]] | None = None,
        batch_size: int = 16,
        seed: int = 0,
        no_duplicates: bool = False,
        drop_last: bool = False,
        shuffle: bool = True,
        num_examples: int | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if texts is None and (num_examples is None or no_duplicates):
            raise ValueError("pass texts (needed for no_duplicates), or num_examples")
        self.texts = [tuple(t) for t in texts] if texts is not None else None
        self.num_examples = len(self.texts) if self.texts is not None else int(num_examples)  # type: ignore[arg-type]
        self.batch_size = batch_size
        self.seed = int(seed)
        self.no_duplicates = bool(no_duplicates)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None
        self._listeners: list[Callable[[int], None]] = []

    def add_epoch_listener(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(epoch)`` whenever :meth:`set_epoch` runs (used to pass the epoch to the augmenter)."""
        self._listeners.append(fn)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        for fn in self._listeners:
            fn(self.epoch)

    def _order(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.num_examples))
        g = torch.Generator()
        g.manual_seed(self.seed + epoch)
        return torch.randperm(self.num_examples, generator=g).tolist()

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        """All batches of ``epoch`` (default: the current one)."""
        epoch = self.epoch if epoch is None else int(epoch)
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        order = self._order(epoch)
        if not self.no_duplicates:
            out = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        else:
            out = self._greedy(order)
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out = [b for b in out if len(b) == self.batch_size]
        self._cache = (epoch, out)
        return out

    def _greedy(self, order: list[int]) -> list[list[int]]:
        assert self.texts is not None
        pending = deque(order)
        out: list[list[int]] = []
        n_postponed = 0
        while pending:
            batch: list[int] = []
            seen: set[str] = set()
            skipped: list[int] = []
            while pending and len(batch) < self.batch_size:
                idx = pending.popleft()
                keys = self.texts[idx]
                if any(k in seen for k in keys):
                    skipped.append(idx)
                    continue
                batch.append(idx)
                seen.update(keys)
            n_postponed += len(skipped)
            pending.extendleft(reversed(skipped))  # retried first in the next batch, in order
            out.append(batch)
        if n_postponed:
            logger.debug("no-duplicates sampler postponed %d examples this epoch", n_postponed)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from (list(b) for b in self.batches())

    def __len__(self) -> int:
        return len(self.batches())

    def __repr__(self) -> str:
        return (
            f"SiameseBatchSampler(n={self.num_examples}, batch_size={self.batch_size}, seed={self.seed}, "
            f"no_duplicates={self.no_duplicates}, drop_last={self.drop_last})"
        )
