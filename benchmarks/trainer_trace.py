"""Do textsiam's trainer and sentence-transformers' take the same steps? A step-by-step trace of one recipe.

A multi-task recipe (default ``configs/multitask_all4_prompts.yaml``: four tasks, four losses, a prompt per task)
runs for ``--steps`` optimiser steps in each trainer, each side in its own process, with everything that is random
taken out:

- the same start weights with dropout off: a copy of the start model whose ``config.json`` sets
  ``hidden_dropout_prob`` and ``attention_probs_dropout_prob`` to 0;
- the same batches: each task's pairs in file order (textsiam's ``SiameseBatchSampler(shuffle=False)``,
  sentence-transformers' ``SequentialSampler`` in place of its ``RandomSampler``), mixed ``round_robin``
  (one batch of each task in turn, as both implement it);
- no dev or test evaluation.

The rest is the recipe's: learning rate, warm-up, schedule, weight decay, gradient clipping, the losses and the
prompts (the sentence-transformers side is ``benchmarks.finetune_multitask_st.train_st``, the peer of the
multi-task benchmark). A ``TrainerCallback`` records each step's loss, gradient norm and learning rate on both
sides. Where the two implementations compute the same thing, every step agrees to float rounding and so do the
final weights; the first step that does not is where they differ.

    python -m benchmarks.trainer_trace --work-dir W --steps 40
    python -m benchmarks.trainer_trace --work-dir W --steps 40 --side report    # compare the runs again

Writes benchmarks/results/finetune/trainer_trace.{json,md} (``--results-name``).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import (
    CONFIGS,
    ROOT,
    benchmark_parser,
    configure,
    markdown_table,
    resolve_data_dir,
    write_results,
)

logger = logging.getLogger("benchmarks.trainer_trace")

SIDES = ("textsiam", "st")
#: a step agrees when its losses and gradient norms differ by at most this, relative to the larger value
STEP_TOLERANCE = 1e-4
#: the final weights agree when the norm of their difference is at most this fraction of the norm of the change
WEIGHT_TOLERANCE = 1e-2


def parse_args(argv: Sequence[str] | None) -> Any:
    parser = benchmark_parser(__doc__, "finetune", model=True)
    parser.add_argument("--work-dir", type=Path, required=True, help="start model copy, both runs and their traces")
    parser.add_argument("--steps", type=int, default=40, help="optimiser steps of each side (default 40)")
    parser.add_argument("--config", type=Path, default=CONFIGS / "multitask_all4_prompts.yaml")
    parser.add_argument(
        "--side",
        choices=(*SIDES, "both", "report"),
        default="both",
        help="both (default): run each side, then compare; report: compare the traces already in --work-dir",
    )
    parser.add_argument("--results-name", default="trainer_trace")
    return parser.parse_args(argv)


def start_model(work: Path, model: str | None = None) -> Path:
    """``work/start``: a copy of the model folder ``model`` (default: the embedded all-MiniLM-L6-v2) with both
    dropout probabilities set to 0 (made once)."""
    from textsiam.model.loading import default_model_path

    start = work / "start"
    if not (start / "config.json").exists():
        shutil.copytree(model or default_model_path(), start, dirs_exist_ok=True)
        config = json.loads((start / "config.json").read_text(encoding="utf-8"))
        config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        (start / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return start


def recipe(config_file: Path, start: Path, steps: int, output_dir: Path, data_dir: str | None = None) -> dict[str, Any]:
    """The multi-task recipe of ``config_file`` made deterministic: ``start`` weights, ``steps`` steps, round robin,
    a log entry per step, no dev or test sets."""
    data = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    if not data.get("train_datasets"):
        raise SystemExit(f"{config_file} has no train_datasets: the trace needs a multi-task recipe")
    data["train_datasets"] = {
        name: {**(entry or {}), "dev_dataset": None} for name, entry in data["train_datasets"].items()
    }
    data.update(
        model=str(start),
        multi_dataset_batch_sampler="round_robin",
        max_steps=int(steps),
        logging_steps=1,
        test_datasets=[],
        save_total_limit=1,
        output_dir=str(output_dir),
    )
    if data_dir:
        data["data_dir"] = str(data_dir)
    return data


def step_log() -> Any:
    """A ``TrainerCallback`` whose ``.steps`` collects ``{"step", "loss", "grad_norm", "learning_rate"}``."""
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):
        def __init__(self) -> None:
            self.steps: list[dict[str, float]] = []

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001, ANN201
            if logs and "loss" in logs:
                keys = ("loss", "grad_norm", "learning_rate")
                self.steps.append({"step": state.global_step, **{k: float(logs[k]) for k in keys if k in logs}})
            return control

    return StepLog()


def run_side(
    side: str, work: Path, config_file: Path, steps: int, model: str | None = None, data_dir: str | None = None
) -> dict[str, Any]:
    """Train one side in this process with its sampler in file order; write and return ``work/<side>/trace.json``."""
    start = start_model(work, model)
    out = work / side
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = recipe(config_file, start, steps, out / "run", data_dir)
    recipe_file = out / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    log = step_log()
    if side == "textsiam":
        from textsiam.training import TrainConfig, train
        from textsiam.training import trainer as trainer_module
        from textsiam.training.sampler import SiameseBatchSampler

        class InFileOrder(SiameseBatchSampler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **{**kwargs, "shuffle": False})

        trainer_module.SiameseBatchSampler = InFileOrder  # the trainer builds each task's sampler by this name
        result = train(TrainConfig.from_dict(data), callbacks=[log], show_progress=False)
        model_dir = result.model_dir
    else:
        from sentence_transformers.base import trainer as st_trainer
        from torch.utils.data import SequentialSampler

        from benchmarks.finetune_multitask_st import read_recipe, train_st

        st_trainer.RandomSampler = lambda dataset, generator=None: SequentialSampler(dataset)
        config, tasks, sampler = read_recipe(recipe_file, [])
        model_dir = train_st(config, tasks, sampler, str(start), out, callbacks=[log])["model_dir"]
    trace = {"side": side, "model_dir": str(model_dir), "steps": log.steps}
    (out / "trace.json").write_text(json.dumps(trace, indent=1), encoding="utf-8")
    return trace


def weight_gap(start: Path, dir_a: str | Path, dir_b: str | Path) -> dict[str, float]:
    """How far apart two trained models' transformer weights are, against how far training moved them.

    ``max_abs_*``: the largest single weight's difference and change; ``relative_l2_difference``: the norm of the
    difference over all weights divided by the norm of the change (textsiam's). Adam divides each gradient by its
    running scale, so a weight whose gradient is near 0 can move by up to the learning rate on float rounding alone:
    the largest single difference says little, the norm ratio says how much of the training differs.
    """
    import torch
    from transformers import AutoModel

    w0, wa, wb = (AutoModel.from_pretrained(str(d)).state_dict() for d in (start, dir_a, dir_b))
    if set(wa) != set(wb):
        raise SystemExit(f"the two models hold different weights: {sorted(set(wa) ^ set(wb))[:5]}")
    diff = torch.cat([(wa[k].float() - wb[k].float()).flatten() for k in wa])
    change = torch.cat([(wa[k].float() - w0[k].float()).flatten() for k in wa])
    return {
        "max_abs_weight_difference": float(diff.abs().max()),
        "max_abs_weight_change": float(change.abs().max()),
        "relative_l2_difference": float(diff.norm() / change.norm().clamp_min(1e-30)),
    }


def compare(a: Sequence[dict[str, float]], b: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Step-by-step comparison of two step logs: the largest differences and the first step that disagrees."""
    if [s["step"] for s in a] != [s["step"] for s in b]:
        raise SystemExit("the two sides logged different steps")
    out: dict[str, Any] = {"n_steps": len(a), "first_disagreeing_step": None}
    for key in ("loss", "grad_norm", "learning_rate"):
        out[f"max_abs_{key}_difference"] = max((abs(x[key] - y[key]) for x, y in zip(a, b, strict=True)), default=0.0)
    for x, y in zip(a, b, strict=True):
        if any(abs(x[k] - y[k]) > STEP_TOLERANCE * max(1.0, abs(x[k]), abs(y[k])) for k in ("loss", "grad_norm")):
            out["first_disagreeing_step"] = x["step"]
            break
    return out


def verdict(summary: dict[str, Any]) -> bool:
    """Do the two trainers take the same steps (every step within tolerance, and the final weights)?"""
    return summary["first_disagreeing_step"] is None and summary["relative_l2_difference"] <= WEIGHT_TOLERANCE


def render(payload: dict[str, Any]) -> str:
    s = payload["summary"]
    rows = [
        [
            x["step"],
            f"{x['loss']:.6f}",
            f"{y['loss']:.6f}",
            f"{x['grad_norm']:.5f}",
            f"{y['grad_norm']:.5f}",
            f"{x['learning_rate']:.3g}",
        ]
        for x, y in zip(payload["textsiam"], payload["st"], strict=True)
    ]
    lines = [
        f"# Trainer trace: textsiam against sentence-transformers, {s['n_steps']} steps",
        "",
        f"Recipe: `{payload['config']}`, round robin, each task's pairs in file order, dropout off, the same start "
        "weights, no dev evaluation.",
        "",
        f"- **Same steps: {'yes' if payload['same_steps'] else 'no'}**"
        + (
            ""
            if s["first_disagreeing_step"] is None
            else f" (first disagreement at step {s['first_disagreeing_step']})"
        ),
        f"- Largest difference per step: loss {s['max_abs_loss_difference']:.2e}, gradient norm "
        f"{s['max_abs_grad_norm_difference']:.2e}, learning rate {s['max_abs_learning_rate_difference']:.2e}.",
        f"- Final weights: the difference is {s['relative_l2_difference']:.2e} of the change from the start (L2 norms "
        f"over all weights); largest single difference {s['max_abs_weight_difference']:.2e}, largest single change "
        f"{s['max_abs_weight_change']:.2e}.",
        "",
        *markdown_table(
            ["step", "loss (textsiam)", "loss (ST)", "grad norm (textsiam)", "grad norm (ST)", "lr"], rows, "rrrrrr"
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    configure()
    work = args.work_dir.resolve()
    if args.side in SIDES:
        run_side(args.side, work, args.config, args.steps, args.model, resolve_data_dir(args.data_dir))
        return None
    for side in (
        SIDES if args.side == "both" else ()
    ):  # one process each, one after the other: the samplers are swapped process-wide
        logger.info("trace: %s side, %d steps", side, args.steps)
        cmd = [sys.executable, "-m", "benchmarks.trainer_trace", "--work-dir", str(work), "--side", side]
        cmd += ["--steps", str(args.steps), "--config", str(args.config)]
        cmd += ["--model", args.model] if args.model else []
        subprocess.run(cmd + (["--data-dir", args.data_dir] if args.data_dir else []), cwd=ROOT, check=True)
    traces = {side: json.loads((work / side / "trace.json").read_text(encoding="utf-8")) for side in SIDES}
    if any(len(t["steps"]) != args.steps for t in traces.values()):
        raise SystemExit(f"the traces in {work} are not of {args.steps} steps: run --side both")
    summary = compare(traces["textsiam"]["steps"], traces["st"]["steps"])
    summary.update(weight_gap(work / "start", traces["textsiam"]["model_dir"], traces["st"]["model_dir"]))
    config = args.config.resolve()
    payload = {
        "config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
        "steps": args.steps,
        "same_steps": verdict(summary),
        "summary": summary,
        "textsiam": traces["textsiam"]["steps"],
        "st": traces["st"]["steps"],
    }
    body = render(payload)
    write_results(args.results_dir, args.results_name, payload, body)
    print(body)
    return payload


if __name__ == "__main__":
    main()
