"""A silver run's ensemble of teachers as one teacher candidate, scored on dev and test (issue #26).

An ensemble labels the silver pairs with the mean of its members' scores, each mapped onto the gold label scale by a
monotone fit on the gold training pairs (``textsiam.training.silver_labels.map_to_gold``). :class:`EnsembleTeacher`
scores any pair the same way: the fit on the same gold pairs (the run's seeded subsample of at most
``MAX_MAPPING_PAIRS``, each member with the prompt it labelled with), then the mapped mean. It has a cross-encoder's
``predict``, so the report scores it with the cross-encoder evaluators: dev and test like any other candidate.

The gold labels are the dataset's own (the run scales STS-B's to [0, 1] first): a monotone map onto either scale
ranks, thresholds and averages the pairs alike, so the figures are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger("benchmarks.augsbert_student")


class EnsembleTeacher:
    """Scores pairs as a silver run's ensemble labels them (see the module docstring)."""

    def __init__(
        self,
        model_dirs: Sequence[str],
        gold: tuple[Sequence[str], Sequence[str], Sequence[float]],
        mapping: str = "isotonic",
        prompt_name: str | None = None,
        seed: int = 42,
        batch_size: int = 64,
    ) -> None:
        """``model_dirs``: the members; ``gold``: ``(texts_a, texts_b, labels)`` of the gold training pairs;
        ``mapping``, ``prompt_name`` and ``seed``: the run's ``silver_mapping``, ``silver_prompt_name`` and ``seed``."""
        from textsiam.training.silver import MAX_MAPPING_PAIRS
        from textsiam.training.silver_teachers import resolve_teachers

        if len(model_dirs) < 2:
            raise ValueError(f"an ensemble has at least two teachers, got {len(model_dirs)}")
        teachers = resolve_teachers([str(m) for m in model_dirs], prompt_name=prompt_name)
        self.members = [(t.load(), t.kind, t.prompt_name) for t in teachers]
        self.name_or_path = " + ".join(str(m) for m in model_dirs)
        self.num_labels = 1
        self.mapping, self.batch_size = mapping, batch_size
        gold_a, gold_b, gold_y = list(gold[0]), list(gold[1]), list(gold[2])
        rows = np.arange(len(gold_a))
        if len(rows) > MAX_MAPPING_PAIRS:  # the same subsample as textsiam.training.silver
            rows = np.sort(np.random.default_rng([seed, 3]).choice(len(gold_a), size=MAX_MAPPING_PAIRS, replace=False))
        self.gold_y = [float(gold_y[i]) for i in rows]
        self.gold_raw = self.raw([gold_a[i] for i in rows], [gold_b[i] for i in rows])  # (G, T)

    def raw(self, texts_a: Sequence[str], texts_b: Sequence[str]) -> np.ndarray:
        """``(N, T)``: each member's own score of each pair."""
        from textsiam.training.silver_teachers import score_pairs

        cols = [score_pairs(m, kind, texts_a, texts_b, self.batch_size, prompt) for m, kind, prompt in self.members]
        return np.stack(cols, axis=1) if cols else np.empty((len(texts_a), 0))

    def predict(self, pairs: Any, batch_size: int = 32, show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        """``(N,)``: the ensemble's score of each ``(a, b)`` pair, on the gold label scale."""
        from textsiam.training.silver_labels import map_to_gold

        pairs = [(str(a), str(b)) for a, b in pairs]
        if not pairs:
            return np.empty(0, dtype=np.float64)
        raw = self.raw([a for a, _ in pairs], [b for _, b in pairs])
        return map_to_gold(self.gold_raw, self.gold_y, raw, self.mapping)[1]
