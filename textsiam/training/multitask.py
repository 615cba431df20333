"""Training on several datasets at once: each batch comes from one task, and goes to that task's loss.

* :class:`MultiTaskDataset`: the tasks' example tables behind one index; a row carries its task's name.
* :class:`MultiTaskBatchSampler`: one :class:`~textsiam.training.sampler.SiameseBatchSampler` per task, mixed as
  sentence-transformers' ``multi_dataset_batch_sampler`` does it:

  - ``proportional``: every batch of every task, in an order drawn (seeded by ``seed + epoch``) so that a task's
    share of the steps is its share of the batches;
  - ``round_robin``: one batch of each task in turn, until the task with the fewest batches runs out.

* :class:`MultiTaskCollator`: tokenises a batch with the collator of its task and adds ``task`` to it, which
  :class:`~textsiam.training.trainer.SiameseTrainingModel` reads to pick the loss.

The order depends only on ``(seed, epoch)``, like the single-task sampler's, so a resumed run continues exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from textsiam.training.sampler import SiameseBatchSampler

logger = logging.getLogger(__name__)

__all__ = ["MultiTaskBatchSampler", "MultiTaskCollator", "MultiTaskDataset"]

#: Row key that names the task of an example.
TASK_KEY = "task"


class MultiTaskDataset(Dataset):
    """The example tables of several tasks behind one index: rows ``[offset(t), offset(t) + len(t))`` are task t's.

    Args:
        tables: ``{task: datasets.Dataset}`` of training examples, in a fixed order.
    """

    def __init__(self, tables: Mapping[str, Any]) -> None:
        if not tables:
            raise ValueError("MultiTaskDataset needs at least one task")
        self.tables = dict(tables)
        self.names = list(self.tables)
        self.offsets: list[int] = []
        total = 0
        for name in self.names:
            self.offsets.append(total)
            total += len(self.tables[name])
        self.total = total

    def __len__(self) -> int:
        return self.total

    def locate(self, index: int) -> tuple[int, int]:
        """``(task position, row within the task)`` of a global index."""
        if not 0 <= index < self.total:
            raise IndexError(f"index {index} out of range for {self.total} examples")
        task = max(i for i, start in enumerate(self.offsets) if start <= index)
        return task, index - self.offsets[task]

    def __getitem__(self, index: int) -> dict[str, Any]:
        task, row = self.locate(int(index))
        name = self.names[task]
        return {**self.tables[name][row], TASK_KEY: name}

    @property
    def column_names(self) -> list[str]:
        """The text and label columns any task has (for the no-duplicates sampler)."""
        seen: dict[str, None] = {}
        for table in self.tables.values():
            seen.update(dict.fromkeys(table.column_names))
        return list(seen)


class MultiTaskBatchSampler(Sampler[list[int]]):
    """Batches of global indices of a :class:`MultiTaskDataset`, each from one task (see the module docstring).

    Args:
        samplers: ``{task: SiameseBatchSampler}`` over each task's own rows (``0 .. len(task) - 1``).
        offsets: each task's first global index, in the order of ``samplers``.
        strategy: ``proportional`` or ``round_robin``.
        seed: seeds the proportional order (``seed + epoch``).
    """

    def __init__(
        self, samplers: Mapping[str, SiameseBatchSampler], offsets: Sequence[int], strategy: str, seed: int
    ) -> None:
        if strategy not in ("proportional", "round_robin"):
            raise ValueError(f"unknown multi_dataset_batch_sampler {strategy!r}; use proportional or round_robin")
        if len(samplers) != len(offsets):
            raise ValueError(f"{len(samplers)} samplers but {len(offsets)} offsets")
        self.samplers = dict(samplers)
        self.offsets = list(offsets)
        self.strategy = strategy
        self.seed = int(seed)
        # read by accelerate when it shards the batches for DDP (no batch_size: a task's last batch may be smaller)
        self.drop_last = any(getattr(s, "drop_last", False) for s in self.samplers.values())
        self.epoch = 0
        self._listeners: list[Callable[[int], None]] = []
        self._cache: tuple[int, list[list[int]]] | None = None

    def add_epoch_listener(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(epoch)`` whenever :meth:`set_epoch` runs."""
        self._listeners.append(fn)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        for sampler in self.samplers.values():
            sampler.set_epoch(self.epoch)
        for fn in self._listeners:
            fn(self.epoch)

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        """All batches of ``epoch`` (default: the current one), as global indices."""
        epoch = self.epoch if epoch is None else int(epoch)
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        per_task = [
            [[i + offset for i in batch] for batch in sampler.batches(epoch)]
            for sampler, offset in zip(self.samplers.values(), self.offsets, strict=True)
        ]
        if self.strategy == "round_robin":
            rounds = min(len(b) for b in per_task)
            out = [per_task[t][r] for r in range(rounds) for t in range(len(per_task))]
        else:
            order = [t for t, b in enumerate(per_task) for _ in b]
            g = torch.Generator()
            g.manual_seed(self.seed + epoch)
            perm = torch.randperm(len(order), generator=g).tolist()
            cursor = [0] * len(per_task)
            out = []
            for p in perm:
                t = order[p]
                out.append(per_task[t][cursor[t]])
                cursor[t] += 1
        self._cache = (epoch, out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from (list(b) for b in self.batches())

    def __len__(self) -> int:
        return len(self.batches())

    def __repr__(self) -> str:
        sizes = {name: len(s) for name, s in self.samplers.items()}
        return f"MultiTaskBatchSampler(strategy={self.strategy!r}, batches per task={sizes}, seed={self.seed})"


class MultiTaskCollator:
    """Collate a batch of one task with that task's collator, and name the task in the batch.

    Args:
        collators: ``{task: SiameseDataCollator}``.
    """

    def __init__(self, collators: Mapping[str, Any]) -> None:
        self.collators = dict(collators)

    def set_epoch(self, epoch: int) -> None:
        for collator in self.collators.values():
            if hasattr(collator, "set_epoch"):
                collator.set_epoch(epoch)

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        names = {row[TASK_KEY] for row in rows}
        if len(names) != 1:
            raise ValueError(f"a multi-task batch must come from one task, got {sorted(names)}")
        name = names.pop()
        batch = self.collators[name]([{k: v for k, v in row.items() if k != TASK_KEY} for row in rows])
        batch[TASK_KEY] = name
        return batch

    def __repr__(self) -> str:
        return f"MultiTaskCollator(tasks={list(self.collators)})"
