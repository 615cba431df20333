"""Weight averaging after fine-tuning: greedy checkpoint soups and WiSE-FT interpolation.

Both pick their result on the **dev** metric only, and both fall back to the plain best checkpoint when
averaging does not help on dev, so turning them on can never lower the dev score of the saved model.

- **Greedy soup** (Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves
  accuracy without increasing inference time", ICML 2022): sort the checkpoints of one run by their dev
  metric; start from the best; add each next checkpoint to the uniform average if the average's dev metric
  does not go down.

  .. math:: \\theta_{soup} = \\frac{1}{|S|} \\sum_{i \\in S} \\theta_i

- **WiSE-FT** (Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022): interpolate between
  the start (zero-shot) weights and the fine-tuned weights; the mixing coefficient is chosen on dev.

  .. math:: \\theta_\\alpha = (1 - \\alpha)\\,\\theta_{start} + \\alpha\\,\\theta_{fine-tuned}

Only floating-point tensors are averaged; integer buffers (e.g. position ids) are taken from the first
state. All states must come from the same architecture (same keys and shapes), else ``ValueError``.

Example::

    from textsiam.training.averaging import average_run
    model, report = average_run("runs/stsb_cosent", soup=True, wise_alphas=[0.5, 0.7, 0.9])
    model.save("runs/stsb_cosent/model_averaged")
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from textsiam.training.run_folder import CHECKPOINT_NAME

logger = logging.getLogger(__name__)

__all__ = [
    "AveragingReport",
    "apply_averaging",
    "average_run",
    "average_states",
    "checkpoint_state",
    "dev_values_from_log",
    "greedy_soup",
    "interpolate_states",
    "list_checkpoints",
    "wise_ft",
]

State = dict[str, torch.Tensor]


@dataclass
class AveragingReport:
    """What weight averaging tried and kept (all dev values ×100, as the dev metric returns them).

    Attributes:
        metric_name: the dev metric.
        best_checkpoint_dev: dev value of the best single checkpoint (the starting point).
        soup_members: checkpoint names in the kept soup (one name = no averaging helped).
        soup_dev: dev value of the kept soup.
        wise_alpha: kept interpolation weight of the fine-tuned model (1.0 = no interpolation).
        final_dev: dev value of the weights that were kept.
        trials: every candidate evaluated: ``{"kind", "members" | "alpha", "dev", "kept"}``.
        wall_time_s: time spent (dev evaluations and weight arithmetic).
    """

    metric_name: str | None = None
    best_checkpoint_dev: float | None = None
    soup_members: list[str] = field(default_factory=list)
    soup_dev: float | None = None
    wise_alpha: float = 1.0
    final_dev: float | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ weight math
def _check_compatible(states: Sequence[Mapping[str, torch.Tensor]]) -> None:
    if not states:
        raise ValueError("no states to average")
    keys = set(states[0])
    for i, state in enumerate(states[1:], start=1):
        if set(state) != keys:
            missing, extra = sorted(keys - set(state))[:3], sorted(set(state) - keys)[:3]
            raise ValueError(f"state {i} has different keys than state 0 (missing {missing}, extra {extra})")
        for key in keys:
            if state[key].shape != states[0][key].shape:
                raise ValueError(
                    f"state {i}: {key} has shape {tuple(state[key].shape)}, state 0 {tuple(states[0][key].shape)}"
                )


def average_states(states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float] | None = None) -> State:
    """Weighted average of same-architecture state dicts (uniform when ``weights`` is ``None``).

    Floating tensors are averaged in float32 and cast back to their dtype; other tensors are copied from the
    first state.
    """
    _check_compatible(states)
    if weights is None:
        weights = [1.0] * len(states)
    if len(weights) != len(states):
        raise ValueError(f"{len(weights)} weights for {len(states)} states")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be finite, non-negative and not all zero, got {list(weights)}")
    total = float(sum(weights))
    out: State = {}
    for key, first in states[0].items():
        if not torch.is_floating_point(first):
            out[key] = first.detach().clone()
            continue
        acc = torch.zeros(first.shape, dtype=torch.float32)
        for state, w in zip(states, weights, strict=True):
            if w:
                acc.add_(state[key].detach().to(torch.float32), alpha=w / total)
        out[key] = acc.to(first.dtype)
    return out


def interpolate_states(start: Mapping[str, torch.Tensor], end: Mapping[str, torch.Tensor], alpha: float) -> State:
    """``(1 - alpha) * start + alpha * end`` for every floating tensor (``alpha`` in [0, 1])."""
    if not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    alpha = float(alpha)
    if alpha in (0.0, 1.0):
        _check_compatible([start, end])
        return {k: v.detach().clone() for k, v in (end if alpha == 1.0 else start).items()}
    return average_states([start, end], [1.0 - alpha, alpha])


def _clone_state(module: torch.nn.Module) -> State:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


# ------------------------------------------------------------------------------------------ checkpoints
def list_checkpoints(checkpoints_dir: str | Path) -> list[Path]:
    """``checkpoint-<step>`` folders holding ``model.safetensors``, by step."""
    from textsiam.training.trainer import CHECKPOINT_WEIGHTS

    root = Path(checkpoints_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = CHECKPOINT_NAME.match(path.name)
        if match and (path / CHECKPOINT_WEIGHTS).is_file():
            found.append((int(match.group(1)), path))
    return [p for _, p in sorted(found)]


def checkpoint_state(checkpoint: str | Path, prefix: str = "model.") -> State:
    """The tower's weights from a trainer checkpoint (safetensors only; the loss's own parameters are dropped).

    Trainer checkpoints hold the state of the tower+loss wrapper, whose tower keys start with ``prefix``.
    """
    import safetensors.torch

    from textsiam.training.trainer import CHECKPOINT_WEIGHTS

    path = Path(checkpoint) / CHECKPOINT_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (checkpoints are read from safetensors only)")
    raw = safetensors.torch.load_file(str(path), device="cpu")
    state = {k[len(prefix) :]: v for k, v in raw.items() if k.startswith(prefix)}
    if not state:
        raise ValueError(f"{path} has no tensors under the prefix {prefix!r}")
    return state


def dev_values_from_log(log_history: Sequence[Mapping[str, Any]], metric_name: str) -> dict[int, float]:
    """``{step: dev value}`` from a ``transformers`` log history (entries with ``eval_<metric_name>``)."""
    key = f"eval_{metric_name}"
    return {int(e["step"]): float(e[key]) for e in log_history if key in e and "step" in e}


# ------------------------------------------------------------------------------------------ searches
def _load(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    missing, unexpected = model.load_state_dict(dict(state), strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")


def greedy_soup(
    model: torch.nn.Module,
    candidates: Sequence[tuple[str, Mapping[str, torch.Tensor], float]],
    evaluate: Callable[[], float],
    report: AveragingReport | None = None,
) -> tuple[State, AveragingReport]:
    """Greedy soup over ``candidates`` (``(name, state, dev value)``); ``evaluate()`` scores ``model`` on dev.

    Leaves ``model`` holding the kept soup and returns it with the report. Ties are kept (a soup with the
    same dev value is at least as good and usually more robust).
    """
    if not candidates:
        raise ValueError("greedy_soup needs at least one checkpoint")
    report = report or AveragingReport()
    ranked = sorted(candidates, key=lambda c: c[2], reverse=True)
    members = [ranked[0]]
    best_dev = ranked[0][2]
    report.best_checkpoint_dev = best_dev
    soup: State = {k: v.detach().clone() for k, v in ranked[0][1].items()}
    for name, state, _ in ranked[1:]:
        trial = average_states([m[1] for m in members] + [state])
        _load(model, trial)
        value = float(evaluate())
        kept = math.isfinite(value) and value >= best_dev
        report.trials.append({"kind": "soup", "members": [m[0] for m in members] + [name], "dev": value, "kept": kept})
        logger.info("soup + %s: dev %.2f (%s)", name, value, "kept" if kept else "dropped")
        if kept:
            members.append((name, state, value))
            best_dev, soup = value, trial
    _load(model, soup)
    report.soup_members = [m[0] for m in members]
    report.soup_dev = best_dev
    report.final_dev = best_dev
    return soup, report


def wise_ft(
    model: torch.nn.Module,
    start_state: Mapping[str, torch.Tensor],
    tuned_state: Mapping[str, torch.Tensor],
    alphas: Sequence[float],
    evaluate: Callable[[], float],
    tuned_dev: float,
    report: AveragingReport | None = None,
) -> tuple[State, AveragingReport]:
    """WiSE-FT: keep ``(1-α)·start + α·tuned`` for the α in ``alphas`` (or α = 1) with the best dev value.

    ``tuned_dev`` is the dev value of ``tuned_state`` itself (α = 1). Leaves ``model`` holding the result.
    """
    report = report or AveragingReport()
    best_alpha, best_dev = 1.0, float(tuned_dev)
    for alpha in sorted({float(a) for a in alphas if float(a) != 1.0}, reverse=True):
        _load(model, interpolate_states(start_state, tuned_state, alpha))
        value = float(evaluate())
        better = math.isfinite(value) and value > best_dev
        report.trials.append({"kind": "wise", "alpha": alpha, "dev": value, "kept": better})
        logger.info("WiSE-FT alpha %.2f: dev %.2f", alpha, value)
        if better:
            best_alpha, best_dev = alpha, value
    for trial in report.trials:  # only the overall winner stays marked
        if trial["kind"] == "wise":
            trial["kept"] = trial["alpha"] == best_alpha
    final = interpolate_states(start_state, tuned_state, best_alpha)
    _load(model, final)
    report.wise_alpha = best_alpha
    report.final_dev = best_dev
    return final, report


def apply_averaging(
    model: torch.nn.Module,
    evaluate: Callable[[], float],
    *,
    checkpoints: Sequence[Path] = (),
    dev_values: Mapping[int, float] | None = None,
    best_dev: float | None = None,
    soup: bool = False,
    wise_alphas: Sequence[float] = (),
    start_state: Mapping[str, torch.Tensor] | None = None,
    metric_name: str | None = None,
) -> AveragingReport:
    """Soup (optional) then WiSE-FT (optional) on ``model``, which holds the best checkpoint on entry.

    ``dev_values`` maps checkpoint steps to their dev value (missing ones are evaluated); ``best_dev`` is the
    dev value of ``model`` on entry (evaluated when ``None``). ``model`` holds the kept weights on return.
    """
    if wise_alphas and start_state is None:
        raise ValueError("wise_alphas needs the start weights (start_state)")
    began = time.perf_counter()
    report = AveragingReport(metric_name=metric_name)
    model.eval()
    tuned = _clone_state(model)
    if best_dev is None:
        best_dev = float(evaluate())
    report.best_checkpoint_dev = report.soup_dev = report.final_dev = best_dev
    if soup:
        candidates: list[tuple[str, Mapping[str, torch.Tensor], float]] = []
        values = dict(dev_values or {})
        for path in checkpoints:
            state = checkpoint_state(path)
            step = int(CHECKPOINT_NAME.match(path.name).group(1))  # type: ignore[union-attr]
            if step not in values:
                _load(model, state)
                values[step] = float(evaluate())
            candidates.append((path.name, state, values[step]))
        if len(candidates) < 2:
            logger.warning("checkpoint soup: %d checkpoint(s) kept on disk, nothing to average", len(candidates))
            _load(model, tuned)
        else:
            tuned, report = greedy_soup(model, candidates, evaluate, report)
            del candidates
    if wise_alphas:
        _, report = wise_ft(model, start_state, tuned, wise_alphas, evaluate, report.final_dev, report)  # type: ignore[arg-type]
    report.wall_time_s = round(time.perf_counter() - began, 3)
    logger.info(
        "weight averaging: dev %.2f -> %.2f (soup of %s, WiSE alpha %.2f) in %.1fs",
        report.best_checkpoint_dev,
        report.final_dev,
        report.soup_members or ["best"],
        report.wise_alpha,
        report.wall_time_s,
    )
    return report


def average_run(
    run_dir: str | Path,
    *,
    soup: bool = True,
    wise_alphas: Sequence[float] = (),
    start_model: str | Path | None = None,
    dev_metric: Callable[[Any], float] | None = None,
) -> tuple[Any, AveragingReport]:
    """Weight averaging of a finished :func:`textsiam.training.train` run, after the fact.

    Loads ``run_dir/model`` (the best checkpoint), the run's dev data and config, and its checkpoints in
    ``run_dir/checkpoints`` (keep them with ``save_total_limit: null``). WiSE-FT interpolates towards
    ``start_model`` (default: the run's ``model`` field). Returns the model holding the kept weights (not
    saved) and the report.
    """
    from textsiam.model.siamese import SiameseModel
    from textsiam.training.config import TrainConfig
    from textsiam.training.dev import run_dev_metric
    from textsiam.training.run_folder import CHECKPOINTS_DIR, CONFIG_FILE, MODEL_DIR
    from textsiam.training.sources import load_tasks

    run = Path(run_dir)
    config = TrainConfig.from_file(run / CONFIG_FILE)
    model = SiameseModel.from_pretrained(run / MODEL_DIR, device="cpu")
    if dev_metric is None:
        dev_metric = run_dev_metric(load_tasks(config), model)
        if dev_metric is None:
            raise ValueError(f"{run} was trained without dev data: averaging needs a dev metric")
    name = getattr(dev_metric, "metric_name", None)
    values: dict[int, float] = {}
    log_file = run / "train_log.json"
    if log_file.is_file() and name:
        values = dev_values_from_log(json.loads(log_file.read_text(encoding="utf-8")), name)
    start_state = None
    if wise_alphas:
        start_state = _clone_state(SiameseModel.from_pretrained(start_model or config.model, device="cpu"))
    report = apply_averaging(
        model,
        lambda: float(dev_metric(model)),
        checkpoints=list_checkpoints(run / CHECKPOINTS_DIR),
        dev_values=values,
        soup=soup,
        wise_alphas=wise_alphas,
        start_state=start_state,
        metric_name=name,
    )
    return model, report


def soup_models(
    model_dirs: Sequence[str | Path],
    dev_metric: Callable[[Any], float],
) -> tuple[Any, AveragingReport]:
    """Greedy soup across separately fine-tuned models (e.g. the runs of a learning-rate sweep).

    The "greedy soup" of Wortsman et al. (ICML 2022) over a hyper-parameter sweep: every model is scored on
    dev, then, from the best down, a model joins the uniform weight average if the average's dev value does
    not go down. The models must share one architecture and start model (weights averaged across unrelated
    pre-trainings are meaningless), the same pooling and the same similarity function.

    Args:
        model_dirs: saved :class:`~textsiam.SiameseModel` directories (at least two).
        dev_metric: ``model -> dev value`` (higher is better), e.g.
            ``textsiam.evaluation.make_dev_metric("sick", split="dev")``; never a test split.

    Returns:
        The model holding the kept soup (not saved; ``soup_members`` names the averaged directories) and the
        report.

    Raises:
        ValueError: fewer than two models, or models that differ in architecture, pooling or similarity.
    """
    from textsiam.model.siamese import SiameseModel

    dirs = [Path(d) for d in model_dirs]
    if len(dirs) < 2:
        raise ValueError(f"a soup needs at least two models, got {len(dirs)}")
    if len(set(dirs)) != len(dirs):
        raise ValueError("the same model directory is given twice")
    began = time.perf_counter()
    candidates: list[tuple[str, Mapping[str, torch.Tensor], float]] = []
    model = None
    for path in dirs:
        loaded = SiameseModel.from_pretrained(path, device="cpu")
        loaded.eval()
        if model is not None:
            for attr in ("encoder_type", "pooling", "similarity", "normalize", "projection_dim"):
                mine, theirs = getattr(model.config, attr), getattr(loaded.config, attr)
                if mine != theirs:
                    raise ValueError(f"{path} has {attr}={theirs!r} but {dirs[0]} has {mine!r}: cannot average them")
        value = float(dev_metric(loaded))
        logger.info("soup candidate %s: dev %.2f", path, value)
        candidates.append((str(path), _clone_state(loaded), value))
        if model is None:
            model = loaded
        else:
            del loaded
    _check_compatible([c[1] for c in candidates])
    report = AveragingReport(metric_name=getattr(dev_metric, "metric_name", None))
    report.trials = [{"kind": "model", "members": [name], "dev": value, "kept": False} for name, _, value in candidates]
    _, report = greedy_soup(model, candidates, lambda: float(dev_metric(model)), report)
    for trial in report.trials:
        if trial["kind"] == "model":
            trial["kept"] = trial["members"][0] in report.soup_members
    if report.soup_members != [str(dirs[0])] and model.calibrator is not None:  # type: ignore[union-attr]
        logger.warning("the kept weights are not %s's: its calibrator is dropped (calibrate again)", dirs[0])
        model.calibrator = None  # type: ignore[union-attr]
    report.wall_time_s = round(time.perf_counter() - began, 3)
    logger.info(
        "soup of %d models: dev %.2f -> %.2f", len(report.soup_members), report.best_checkpoint_dev, report.final_dev
    )
    return model, report
