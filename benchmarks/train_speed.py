"""Training speed: textsiam vs sentence-transformers, alternating A/B in one run, medians.

Both fine-tune the embedded all-MiniLM-L6-v2 on the same STS-B train pairs with the same loss (CoSENT by
default), batch size, learning rate, schedule, seed and number of optimiser steps, with no dev evaluation
and no checkpoints inside the timed region. Only ``Trainer.train`` is timed (model loading, final saving
and evaluation are outside). The runs alternate (textsiam, sentence-transformers, textsiam, ...) so that
drift in machine load hits both; the figure is the ratio of median wall times. Run it with nothing else
heavy on the machine.

    python -m benchmarks.train_speed --steps 60 --rounds 3

Writes benchmarks/results/speed/train_speed.{json,md}.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import CONFIGS, benchmark_parser, configure, markdown_table, medians, write_results

logger = logging.getLogger("benchmarks.train_speed")


def time_textsiam(config: Any) -> float:
    """Seconds of ``Trainer.train`` of one textsiam run of ``config``."""
    from textsiam.training import train

    result = train(config, overwrite=True)
    return float(result.train_wall_time_s)


def time_peer(config: Any, train_pairs: Any, out_dir: Path) -> float:
    """Seconds of ``trainer.train()`` of sentence-transformers with the recipe of ``config``."""
    import datasets
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss

    from textsiam.model.loading import default_model_path
    from textsiam.training.examples import transform_labels

    model = SentenceTransformer(str(default_model_path()))
    labels = transform_labels(train_pairs["label"], "scale", (0.0, 5.0)).tolist()
    data = datasets.Dataset.from_dict(
        {"sentence1": list(train_pairs["text_a"]), "sentence2": list(train_pairs["text_b"]), "score": labels}
    )
    loss = CoSENTLoss(model) if config.loss == "cosent" else CosineSimilarityLoss(model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="no",
        save_strategy="epoch",  # as textsiam without a dev set: one checkpoint when training ends
        logging_steps=config.logging_steps,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def render(payload: dict[str, Any]) -> str:
    """The markdown report: median wall time and steps/s of each trainer, and their ratio."""
    steps, med = payload["steps"], payload["median_s"]
    rows = [
        [k, f"{med[k]:.1f}", f"{steps / med[k]:.3f}", ", ".join(f"{t:.1f}" for t in runs)]
        for k, runs in payload["wall_times_s"].items()
    ]
    lines = [
        f"STS-B training speed, loss `{payload['loss']}`, batch {payload['batch_size']}, {steps} optimiser steps per "
        f"run, {payload['rounds']} alternating rounds; only `Trainer.train` is timed (no dev evaluation or checkpoint "
        "inside).",
        "",
        *markdown_table(["trainer", "median wall time (s)", "steps/s", "runs (s)"], rows, "lrrl"),
        "",
        f"Speed ratio (sentence-transformers time / textsiam time): **{payload['speedup_textsiam_over_st']:.2f}×**.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = benchmark_parser(__doc__, "speed")
    p.add_argument("--loss", choices=["cosent", "cosine"], default="cosent")
    p.add_argument("--steps", type=int, default=60, help="optimiser steps per timed run")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (each: one textsiam, one peer run)")
    args = p.parse_args()
    configure(logging.WARNING)

    import torch

    from textsiam.data import load_pairs
    from textsiam.training import TrainConfig

    work = Path(tempfile.mkdtemp(prefix="train_speed_"))
    config_file = CONFIGS / ("stsb.yaml" if args.loss == "cosent" else "stsb_cosine.yaml")
    overrides = [
        f"output_dir={work / 'textsiam'}",
        f"max_steps={args.steps}",
        "dev_dataset=null",
        "test_datasets=[]",
        "save_total_limit=1",
        "logging_steps=1000",
    ]
    if args.data_dir:
        overrides.append(f"data_dir={args.data_dir}")
    config = TrainConfig.from_file(config_file).with_overrides(overrides)
    config.validate()
    train_pairs = load_pairs("stsb", "train", config.data_dir)

    times: dict[str, list[float]] = {"textsiam": [], "sentence-transformers": []}
    for r in range(args.rounds):
        times["textsiam"].append(time_textsiam(config))
        times["sentence-transformers"].append(time_peer(config, train_pairs, work / "peer"))
        logger.info(
            "round %d: textsiam %.1fs, sentence-transformers %.1fs",
            r + 1,
            times["textsiam"][-1],
            times["sentence-transformers"][-1],
        )
    med = medians(times)
    speedup = med["sentence-transformers"] / med["textsiam"]
    payload = {
        "loss": config.loss,
        "steps": args.steps,
        "rounds": args.rounds,
        "batch_size": config.batch_size,
        "torch_threads": torch.get_num_threads(),
        "wall_times_s": times,
        "median_s": med,
        "steps_per_s": {k: args.steps / v for k, v in med.items()},
        "speedup_textsiam_over_st": speedup,
    }
    body = render(payload)
    write_results(args.results_dir, "train_speed", payload, body)
    print(body)


if __name__ == "__main__":
    main()
