"""The Python API's overhead over the CLI path: one small training recipe run through both, alternating, medians.

- **CLI path** (what ``textsiam train`` runs): ``textsiam.training.train(TrainConfig)`` with ``configs/stsb.yaml``
  and ``max_train_pairs`` / ``max_dev_pairs``: ``train`` loads the data and the start model itself.
- **Python path**: ``textsiam.fit(model, train, loss=..., dev=..., **settings)`` with the start model loaded by
  ``SiameseModel.from_pretrained`` and the same STS-B pairs as tables (the same seeded subsamples; training labels
  scaled to [0, 1] as the CLI path scales them, so ``label_transform=none``), and the config's settings.

Each timed job does everything its path needs (loading the data and the model included); the runs alternate
(CLI, Python, Python, CLI, ...) after ``--warmup`` untimed runs of each. Reported: the median ``train_wall_time_s``
(``Trainer.train`` alone) and the median wall time of the whole call, for each path, and their ratios
Python / CLI. Both paths should reach the same dev metric (the same recipe and seed): the result says whether they
did. Run it with nothing else heavy on the machine.

    python -m benchmarks.finetune_python_overhead --pairs 200 --epochs 1 --rounds 3
    python -m benchmarks.finetune_python_overhead --smoke

Writes benchmarks/results/finetune/python_overhead.{json,md} (``--results-name``; ``--smoke`` adds ``_smoke``).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CONFIGS,
    add_set_argument,
    alternating_times,
    benchmark_parser,
    configure,
    markdown_table,
    resolve_data_dir,
    write_results,
)

logger = logging.getLogger("benchmarks.finetune_python_overhead")

#: TrainConfig fields the Python path passes to ``textsiam.fit`` as settings (the recipe the CLI path reads)
SETTINGS = (
    "epochs",
    "max_steps",
    "batch_size",
    "learning_rate",
    "warmup_ratio",
    "lr_scheduler",
    "weight_decay",
    "max_grad_norm",
    "seed",
    "eval_steps",
    "logging_steps",
    "save_total_limit",
    "eval_batch_size",
)
PATHS = ("cli", "python")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "finetune", model=True)
    p.add_argument("--pairs", type=int, default=200, help="seeded subsample of STS-B train")
    p.add_argument("--dev-pairs", type=int, default=200, help="seeded subsample of STS-B dev (checkpoint choice)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (each: one run of each path)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of each path first")
    p.add_argument("--work-dir", type=Path, default=None, help="where the runs write (default: a temp dir)")
    p.add_argument("--smoke", action="store_true", help="32 pairs, 50 dev pairs, 1 round, no warm-up")
    p.add_argument("--results-name", default="python_overhead", help="result file name NAME.{json,md}")
    add_set_argument(p)
    args = p.parse_args(argv)
    args.data_dir = resolve_data_dir(args.data_dir)
    if args.smoke:
        args.pairs, args.dev_pairs, args.rounds, args.warmup = 32, 50, 1, 0
    return args


def cli_config(args: argparse.Namespace, out: Path) -> Any:
    """The CLI path's config: ``configs/stsb.yaml`` with the benchmark's sizes, no test sets, ``--set`` last."""
    from textsiam.training import TrainConfig

    overrides = [
        f"output_dir={out}",
        f"max_train_pairs={args.pairs}",
        f"max_dev_pairs={args.dev_pairs}",
        f"epochs={args.epochs}",
        "test_datasets=[]",
    ]
    if args.model:
        overrides.append(f"model={args.model}")
    if args.data_dir:
        overrides.append(f"data_dir={args.data_dir}")
    config = TrainConfig.from_file(CONFIGS / "stsb.yaml").with_overrides(overrides + list(args.set))
    return config.validate()


def python_tables(config: Any) -> tuple[Any, Any]:
    """``(train, dev)`` pair tables of the Python path: the CLI path's subsamples, training labels scaled to [0, 1]."""
    from textsiam.data import dataset_info, load_pairs
    from textsiam.training.examples import subsample, transform_labels

    train = subsample(load_pairs("stsb", "train", config.data_dir), config.max_train_pairs, config.seed)
    scaled = transform_labels(train["label"], "scale", tuple(dataset_info("stsb").score_range))
    train = train.select_columns(["text_a", "text_b"]).add_column("label", scaled.tolist())
    dev = subsample(load_pairs("stsb", "dev", config.data_dir), config.max_dev_pairs, config.seed)
    return train, dev.select_columns(["text_a", "text_b", "label"])


def jobs(args: argparse.Namespace, work: Path) -> dict[str, Callable[[], Any]]:
    """``{"cli": ..., "python": ...}``: one training run of each path, returning its TrainResult."""
    import textsiam
    from textsiam import SiameseModel
    from textsiam.training import train

    def cli() -> Any:
        return train(cli_config(args, work / "cli"), overwrite=True, show_progress=False)

    def python() -> Any:
        config = cli_config(args, work / "python")  # only its settings: the data and model are loaded here
        train_pairs, dev_pairs = python_tables(config)
        model = SiameseModel.from_pretrained(config.model)
        settings = {key: getattr(config, key) for key in SETTINGS}
        return textsiam.fit(
            model,
            train_pairs,
            loss=config.loss,
            dev=dev_pairs,
            output_dir=str(work / "python"),
            overwrite=True,
            show_progress=False,
            label_transform="none",
            **settings,
        )

    return {"cli": cli, "python": python}


def summary(times: dict[str, list[float]], results: dict[str, list[Any]]) -> dict[str, Any]:
    """Medians of the total and the ``Trainer.train`` wall times of each path, their ratios, and the dev metrics."""
    train_s = {p: [float(r.train_wall_time_s) for r in results[p]] for p in PATHS}
    med_total = {p: statistics.median(times[p]) for p in PATHS}
    med_train = {p: statistics.median(train_s[p]) for p in PATHS}
    best = {p: [r.best_metric for r in results[p]] for p in PATHS}
    same = all(
        a is not None and b is not None and abs(a - b) < 1e-4 for a, b in zip(best["cli"], best["python"], strict=True)
    )
    return {
        "total_s": {p: [round(t, 3) for t in times[p]] for p in PATHS},
        "train_wall_time_s": train_s,
        "median_total_s": med_total,
        "median_train_wall_time_s": med_train,
        "ratio_total_python_over_cli": med_total["python"] / med_total["cli"],
        "ratio_train_python_over_cli": med_train["python"] / med_train["cli"],
        "best_dev": best,
        "same_dev_metric": same,
        "global_step": {p: [r.global_step for r in results[p]] for p in PATHS},
    }


def render(payload: dict[str, Any]) -> str:
    """The markdown report: medians of each path and the ratios."""
    s = payload["summary"]
    rows = [
        [
            name,
            f"{s['median_train_wall_time_s'][p]:.2f}",
            f"{s['median_total_s'][p]:.2f}",
            ", ".join(f"{t:.2f}" for t in s["train_wall_time_s"][p]),
            ", ".join(f"{t:.2f}" for t in s["total_s"][p]),
            ", ".join("–" if v is None else f"{v:.2f}" for v in s["best_dev"][p]),
        ]
        for p, name in (("cli", "CLI path: `train(TrainConfig)`"), ("python", "Python path: `textsiam.fit(...)`"))
    ]
    header = ["path", "median train (s)", "median total (s)", "train runs (s)", "total runs (s)", "best dev"]
    return "\n".join(
        [
            f"STS-B, `configs/stsb.yaml` (CoSENT, batch {payload['batch_size']}, lr {payload['learning_rate']:g}), "
            f"{payload['n_train_pairs']} training pairs, {payload['n_dev_pairs']} dev pairs, {payload['epochs']:g} "
            f"epoch(s), {payload['global_step']} steps; {payload['rounds']} alternating rounds after "
            f"{payload['warmup']} warm-up run(s) of each path. Train = `Trainer.train` alone (`train_wall_time_s`); "
            "total = the whole call, loading the data and the model included."
            + (" **Smoke run: numbers are not meaningful.**" if payload["smoke"] else ""),
            "",
            *markdown_table(header, rows, "lrrlll"),
            "",
            f"Ratio Python / CLI: **{s['ratio_train_python_over_cli']:.3f}** (train), "
            f"**{s['ratio_total_python_over_cli']:.3f}** (total). Same dev metric on both paths: "
            f"{'yes' if s['same_dev_metric'] else 'no'}.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    configure(logging.WARNING)
    import textsiam

    if not hasattr(textsiam, "fit"):
        raise SystemExit("this textsiam has no textsiam.fit (the Python training API): nothing to compare")
    import torch

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="python_overhead_"))
    todo = jobs(args, work)
    for w in range(args.warmup):
        for name, job in todo.items():
            logger.info("warm-up %d: %s", w + 1, name)
            job()
    results: dict[str, list[Any]] = {p: [] for p in PATHS}
    recording = {p: (lambda p=p: results[p].append(todo[p]())) for p in PATHS}
    times = alternating_times(recording, args.rounds, "python_overhead")
    config = cli_config(args, work / "cli")
    payload = {
        "smoke": args.smoke,
        "model": args.model,
        "n_train_pairs": args.pairs,
        "n_dev_pairs": args.dev_pairs,
        "epochs": args.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "global_step": results["cli"][-1].global_step,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "overrides": list(args.set),
        "torch_threads": torch.get_num_threads(),
        "summary": summary(times, results),
    }
    body = render(payload)
    write_results(args.results_dir, args.results_name + ("_smoke" if args.smoke else ""), payload, body)
    print(body)
    return payload


if __name__ == "__main__":
    main()
