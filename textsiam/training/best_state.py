"""Best-model selection without checkpoints, for runs that write nothing to disk (:func:`textsiam.fit` without
``output_dir``): the weights of the best dev evaluation are kept in memory and put back when training ends."""

from __future__ import annotations

import logging
import math
from typing import Any

from torch import nn
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class KeepBestInMemory(TrainerCallback):
    """Keep a CPU copy of ``module``'s weights at its best dev metric (higher is better); :meth:`restore` puts it back.

    Args:
        module: the module being trained (the twin tower with its loss, so a loss's head is kept too).
        metric_name: the dev metric's name (logged as ``eval_<metric_name>``).
    """

    def __init__(self, module: nn.Module, metric_name: str) -> None:
        self.module = module
        self.key = f"eval_{metric_name}"
        self.best: float | None = None
        self.best_step: int | None = None
        self.state: dict[str, Any] | None = None

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kw: Any
    ) -> None:
        value = (metrics or {}).get(self.key)
        if value is None or not math.isfinite(value):
            return
        if self.best is None or value > self.best:
            self.best, self.best_step = float(value), int(state.global_step)
            self.state = {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}

    def restore(self) -> bool:
        """Load the kept weights into ``module``; ``False`` when there was no dev evaluation."""
        if self.state is None:
            return False
        self.module.load_state_dict(self.state)
        logger.info("restored the weights of step %d (%s = %.4f)", self.best_step, self.key, self.best)
        return True
