"""Distil the BERT tower into fast LSTM and CNN towers; compare quality and CPU speed side by side.

Steps (one run, everything on the CPU):

1. **Sentences.** Every sentence of the training splits in the data folder, plus ``--augment-copies`` augmented
   copies of each (random word deletion and random swap, alternating): ``textsiam.training.distill.default_corpus``
   (STS-B train, SICK train, MRPC train, the Quora train split). Dev and test sentences are never used for
   distillation.
2. **Teacher embeddings**, computed once and cached in ``--work-dir`` (``teacher-<fingerprint>.npy``; the
   fingerprint covers the teacher's scores on probe sentences and the sentence list).
3. **Distillation** with the library loop, ``textsiam.training.distill.distill``: each student (an LSTM or CNN on
   the teacher's tokenizer, its input word embeddings as the initial embedding matrix, a linear projection to the
   teacher's dimension, L2 normalisation if the teacher normalises) is trained with MSE to the teacher
   embeddings (AdamW, sparse Adam on the word embeddings, length-bucketed batches). STS-B dev Spearman is logged
   after every epoch; the student is saved to ``--work-dir``/``<tower>-distilled``.
4. **Fine-tuning** on STS-B train with ``textsiam train`` (CoSENT); the epoch is chosen on STS-B dev, and the
   distilled model without fine-tuning competes on dev too.
5. **Evaluation** of the teacher and the chosen students on STS-B test (Spearman) and SICK test (Pearson),
   with 95% bootstrap CIs, and **CPU encode throughput** on the STS-B sentences: the teacher and the students
   alternate (order flipped every run), same texts, batch size and threads; the median of ``--runs`` runs.

    python -m benchmarks.distill_towers --teacher /work/runs/stsb/model     # full run
    python -m benchmarks.distill_towers --smoke                             # a few minutes, small everything

Writes benchmarks/results/towers/towers.{json,md} (``--smoke`` writes towers_smoke.*).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    alternating_times,
    benchmark_parser,
    configure,
    markdown_table,
    medians,
    resolve_data_dir,
    value_ci,
    write_results,
)

logger = logging.getLogger("benchmarks.distill_towers")

PROBES = [
    "A man is playing a guitar.",
    "How do I learn Python?",
    "Stocks fell sharply on Monday.",
    "The cat sits on the mat.",
]


# ---------------------------------------------------------------------------------------------- data
def teacher_embeddings(
    teacher: Any, texts: list[str], work_dir: Path, batch_size: int, progress: bool = True
) -> tuple[Any, dict]:
    """``(N, D)`` float32 teacher embeddings of ``texts``, from the cache in ``work_dir`` or computed once."""
    import numpy as np

    from textsiam.io_utils import atomic_path
    from textsiam.training.distill import teacher_targets

    probe = np.asarray(teacher.encode(PROBES), dtype=np.float32).round(4)
    digest = hashlib.sha1(probe.tobytes())
    for t in texts:
        digest.update(t.encode("utf-8") + b"\0")
    path = work_dir / f"teacher-{digest.hexdigest()[:16]}.npy"
    if path.is_file():
        logger.info("teacher embeddings from the cache %s", path)
        return np.load(path), {"cache": str(path), "seconds": 0.0, "cached": True}
    start = time.perf_counter()
    emb = teacher_targets(teacher, texts, batch_size=batch_size, show_progress=progress)
    seconds = time.perf_counter() - start
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, emb)
    logger.info("teacher embeddings of %d texts in %.0fs, cached in %s", len(texts), seconds, path)
    return emb, {"cache": str(path), "seconds": round(seconds, 1), "cached": False}


# ---------------------------------------------------------------------------------------------- students
def distill_config(kind: str, args: argparse.Namespace, output_dir: Path) -> Any:
    """The library recipe of one student: an LSTM or CNN on the teacher's tokenizer and word embeddings, projected
    to its dimension, its word embeddings trained sparsely (``--embedding-lr``) and then frozen for fine-tuning."""
    from textsiam.training.distill import DistillConfig

    if kind == "lstm":
        tower_args = {
            "hidden_size": args.lstm_hidden,
            "num_layers": args.lstm_layers,
            "bidirectional": not args.lstm_unidirectional,
            "pooling": args.lstm_pooling,
        }
    else:
        tower_args = {"kernel_sizes": list(args.cnn_kernels), "num_filters": args.cnn_filters}
    return DistillConfig(
        teacher=args.teacher,
        tower=kind,
        tower_args=tower_args,
        projection=True,
        projection_activation="identity",
        freeze_embeddings=True,  # STS-B fine-tuning must not move only the rows of the words STS-B train contains
        loss="mse",
        epochs=args.distill_epochs,
        batch_size=args.distill_batch_size,
        lr=args.distill_lr,
        embedding_lr=args.embedding_lr,
        seed=args.seed,
        device="cpu",
        output_dir=str(output_dir),
        show_progress=not args.quiet,
    )


def count_params(model: Any) -> dict[str, int]:
    """Parameters of ``model``: in all, in the word embedding matrix, and the others."""
    total = sum(p.numel() for p in model.parameters())
    emb = [m for m in model.modules() if m.__class__.__name__ == "Embedding"]
    word = max((m.weight.numel() for m in emb), default=0)  # the word (token) embedding matrix
    return {"total": int(total), "word_embeddings": int(word), "other": int(total - word)}


def dev_spearman(model: Any, dev_pairs: Any) -> float:
    """Cosine Spearman (×100) of ``model`` on the STS-B dev pairs."""
    from benchmarks.common import evaluate_on

    res = evaluate_on(model, "stsb", "dev", pairs=dev_pairs, n_resamples=0, batch_size=128)
    return float(res["metrics"]["cosine_spearman"])


def distil(
    kind: str, teacher: Any, texts: list[str], targets: Any, dev_pairs: Any, args: argparse.Namespace, out: Path
) -> tuple[Any, list[dict]]:
    """``textsiam.training.distill.distill`` with STS-B dev Spearman after every epoch; ``(student, log)``.

    The student is saved to ``out``; the log has one entry per epoch (``dev_spearman`` is the dev metric).
    """
    from textsiam.training.distill import distill

    def report(entry: dict, student: Any) -> None:
        logger.info(
            "%s distil epoch %d: loss %.3g, cosine to the teacher %.4f, %.0fs, STS-B dev Spearman %.2f",
            kind,
            entry["epoch"],
            entry["loss"],
            entry["cosine_to_teacher"],
            entry["seconds"],
            entry["dev_metric"],
        )

    config = distill_config(kind, args, out)
    logger.info("%s student: %s", kind, config)
    result = distill(
        config,
        texts,
        teacher=teacher,
        targets=targets,
        dev_metric=lambda student: dev_spearman(student, dev_pairs),
        callback=report,
    )
    log = [
        {
            "epoch": e["epoch"],
            "loss": e["loss"],
            "cosine_to_teacher": e["cosine_to_teacher"],
            "seconds": round(e["seconds"], 1),
            "dev_spearman": e["dev_metric"],
        }
        for e in result.log
    ]
    return result.student, log


def finetune(distilled_dir: Path, out_dir: Path, args: argparse.Namespace, data_dir: str | None) -> Any:
    """CoSENT on STS-B train with ``textsiam.training.train``; the best epoch on STS-B dev is kept."""
    from textsiam.training import TrainConfig, train

    config = TrainConfig(
        model=str(distilled_dir),
        train_dataset="stsb",
        dev_dataset="stsb",
        test_datasets=[],
        data_dir=data_dir,
        loss="cosent",
        epochs=args.finetune_epochs,
        max_steps=args.finetune_max_steps,
        batch_size=args.finetune_batch_size,
        learning_rate=args.finetune_lr,
        warmup_ratio=0.1,
        weight_decay=0.0,
        seed=args.seed,
        eval_batch_size=128,
        n_resamples=0,
        save_total_limit=1,
        logging_steps=100,
        output_dir=str(out_dir),
    )
    return train(config, overwrite=True)


# ---------------------------------------------------------------------------------------------- measuring
def throughput(models: dict[str, Any], texts: list[str], batch_size: int, runs: int) -> dict[str, Any]:
    """Sentences/s of each model on ``texts``: runs alternate between models (order flipped each run)."""
    for model in models.values():  # warm-up
        model.encode(texts[:256], batch_size=batch_size)
    jobs = {name: lambda m=model: m.encode(texts, batch_size=batch_size) for name, model in models.items()}
    times = alternating_times(jobs, runs, "speed", items=len(texts), unit="sentences")
    return {
        name: {"seconds": [round(t, 3) for t in times[name]], "sentences_per_s": len(texts) / median}
        for name, median in medians(times).items()
    }


def test_scores(model: Any, data_dir: str | None, n_resamples: int, limit: int | None) -> dict[str, Any]:
    """STS-B test Spearman and SICK test Pearson (cosine, ×100) with 95% bootstrap CIs."""
    from benchmarks.common import evaluate_on
    from textsiam.data import load_pairs

    out = {}
    for name, metric in (("stsb", "cosine_spearman"), ("sick", "cosine_pearson")):
        pairs = load_pairs(name, "test", data_dir)
        if limit:
            pairs = pairs.select(range(min(limit, len(pairs))))
        res = evaluate_on(
            model, name, "test", pairs=pairs, n_resamples=n_resamples, batch_size=128, primary_similarity="cosine"
        )
        ci = res["ci"].get(metric, {})
        out[name] = {"metric": metric, "value": res["metrics"][metric], "low": ci.get("low"), "high": ci.get("high")}
    return out


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``, default ``sys.argv[1:]``), with the ``--smoke`` sizes applied."""
    p = benchmark_parser(__doc__, "towers")
    p.add_argument("--teacher", default=None, help="teacher model dir (default: the embedded zero-shot MiniLM)")
    p.add_argument("--work-dir", default="runs/distill_towers", help="cache, students and fine-tuning runs")
    p.add_argument("--towers", nargs="+", default=["lstm", "cnn"], choices=["lstm", "cnn"])
    p.add_argument("--augment-copies", type=int, default=1, help="augmented copies per training sentence")
    p.add_argument("--augment-prob", type=float, default=0.15, help="deletion probability / swaps per word")
    p.add_argument("--max-sentences", type=int, default=None, help="use only the first N training sentences")
    p.add_argument("--distill-epochs", type=int, default=3)
    p.add_argument("--distill-lr", type=float, default=2e-3)
    p.add_argument("--distill-batch-size", type=int, default=128)
    p.add_argument(
        "--embedding-lr",
        type=float,
        default=5e-3,
        help="SparseAdam learning rate of the word embeddings during distillation (0 = keep them fixed)",
    )
    p.add_argument("--lstm-hidden", type=int, default=128, help="LSTM units per direction")
    p.add_argument("--lstm-layers", type=int, default=1)
    p.add_argument("--lstm-unidirectional", action="store_true")
    p.add_argument("--lstm-pooling", default="mean", choices=["last", "max", "mean"])
    p.add_argument("--cnn-kernels", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--cnn-filters", type=int, default=256, help="filters per width")
    p.add_argument("--finetune-epochs", type=float, default=3.0, help="STS-B epochs (best on dev kept); 0 = none")
    p.add_argument("--finetune-max-steps", type=int, default=None)
    p.add_argument("--finetune-lr", type=float, default=2e-4)
    p.add_argument("--finetune-batch-size", type=int, default=32)
    p.add_argument("--speed-texts", type=int, default=4000, help="unique STS-B sentences timed (0 = all)")
    p.add_argument("--runs", type=int, default=3, help="alternating timing runs (median reported)")
    p.add_argument("--batch-size", type=int, default=64, help="encode batch size of every tower when timed")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for everything (0 = torch's default). Small recurrent models gain little from a second "
        "intra-op thread, and on a busy machine a thread that waits for a descheduled sibling can cost 10x",
    )
    p.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N test pairs only")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--smoke", action="store_true", help="tiny run: 1,500 sentences, 1 epoch, few steps")
    p.add_argument(
        "--results-name", default=None, help="results file name (default: towers, or towers_smoke with --smoke)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.smoke:
        args.max_sentences = args.max_sentences or 1500
        args.distill_epochs = 1
        args.finetune_epochs = min(args.finetune_epochs, 1.0)
        args.finetune_max_steps = args.finetune_max_steps or 20
        args.speed_texts = min(args.speed_texts or 500, 500)
        args.runs = min(args.runs, 3)
        args.eval_limit = args.eval_limit or 300
        args.n_resamples = min(args.n_resamples, 100)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure(logging.INFO)
    for noisy in ("textsiam", "transformers", "datasets", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch
    import transformers

    from textsiam import SiameseModel
    from textsiam.data import load_pairs
    from textsiam.training.distill import default_corpus

    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = resolve_data_dir(args.data_dir)
    work = Path(args.work_dir).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    wall = time.perf_counter()

    teacher = SiameseModel.from_pretrained(args.teacher, device="cpu")
    teacher_name = args.teacher or "all-MiniLM-L6-v2 (embedded, zero-shot)"
    texts = default_corpus(data_dir, args.augment_copies, args.augment_prob, args.seed, args.max_sentences)
    targets, teacher_info = teacher_embeddings(teacher, texts, work, args.batch_size, not args.quiet)
    dev_pairs = load_pairs("stsb", "dev", data_dir)
    models: dict[str, Any] = {"teacher": teacher}
    report: dict[str, Any] = {"teacher": {"name": teacher_name, "embeddings": teacher_info}, "towers": {}}

    for kind in args.towers:
        distilled_dir = work / f"{kind}-distilled"
        student, log = distil(kind, teacher, texts, targets, dev_pairs, args, distilled_dir)
        logger.info("%s student: %s, %s", kind, student, count_params(student))
        chosen, chosen_dev, finetune_info = student, log[-1]["dev_spearman"], None
        if args.finetune_epochs > 0:
            result = finetune(distilled_dir, work / f"{kind}-stsb", args, data_dir)
            tuned = SiameseModel.from_pretrained(result.model_dir, device="cpu")
            finetune_info = {
                "dev_history": result.dev_history,
                "best_dev_spearman": result.best_metric,
                "seconds": result.train_wall_time_s,
            }
            if result.best_metric is not None and result.best_metric > chosen_dev:
                chosen, chosen_dev = tuned, result.best_metric
        stage = "distilled + fine-tuned" if chosen is not student else "distilled only"
        logger.info("%s: %s chosen on STS-B dev (%.2f)", kind, stage, chosen_dev)
        models[kind] = chosen
        report["towers"][kind] = {
            "config": dataclasses.asdict(chosen.config),
            "distillation": log,
            "finetuning": finetune_info,
            "chosen": stage,
            "chosen_dev_spearman": chosen_dev,
        }

    stsb_texts: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        ds = load_pairs("stsb", split, data_dir)
        stsb_texts.update(dict.fromkeys(list(ds["text_a"]) + list(ds["text_b"])))
    speed_texts = list(stsb_texts)[: args.speed_texts or None]
    speed = throughput(models, speed_texts, args.batch_size, args.runs)
    rows = []
    for name, model in models.items():
        scores = test_scores(model, data_dir, args.n_resamples, args.eval_limit)
        rows.append(
            {
                "tower": name,
                "params": count_params(model),
                "sentences_per_s": speed[name]["sentences_per_s"],
                "speed_runs_s": speed[name]["seconds"],
                "stsb_test_spearman": scores["stsb"],
                "sick_test_pearson": scores["sick"],
            }
        )
    teacher_row = rows[0]
    for row in rows:
        row["spearman_vs_teacher"] = row["stsb_test_spearman"]["value"] / teacher_row["stsb_test_spearman"]["value"]
        row["speed_vs_teacher"] = row["sentences_per_s"] / teacher_row["sentences_per_s"]
    lstm_row = next((r for r in rows if r["tower"] == "lstm"), None)
    goal = None
    if lstm_row is not None:
        goal = {
            "spearman_ratio": lstm_row["spearman_vs_teacher"],
            "speed_ratio": lstm_row["speed_vs_teacher"],
            "met": lstm_row["spearman_vs_teacher"] >= 0.95 and lstm_row["speed_vs_teacher"] >= 10,
        }
    total_s = time.perf_counter() - wall
    payload = {
        **report,
        "settings": {k: v for k, v in vars(args).items() if k != "results_dir"},
        "threads": torch.get_num_threads(),
        "n_distillation_texts": len(texts),
        "n_speed_texts": len(speed_texts),
        "rows": rows,
        "goal_lstm_95pct_at_10x": goal,
        "total_wall_s": round(total_s, 1),
    }
    md = render(payload, args)
    name = args.results_name or ("towers_smoke" if args.smoke else "towers")
    write_results(args.results_dir, name, payload, md)
    (work / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(md)


def render(payload: dict[str, Any], args: argparse.Namespace) -> str:
    """The markdown report: a row per tower (size, speed, test figures), the dev history, the goal's verdict."""
    rows = [
        [
            r["tower"],
            f"{r['params']['total'] / 1e6:.1f}M ({r['params']['other'] / 1e6:.2f}M w/o word emb.)",
            f"{r['sentences_per_s']:.0f}",
            f"{r['speed_vs_teacher']:.1f}×",
            value_ci(r["stsb_test_spearman"]),
            f"{100 * r['spearman_vs_teacher']:.1f}%",
            value_ci(r["sick_test_pearson"]),
        ]
        for r in payload["rows"]
    ]
    header = ["tower", "params", "sentences/s", "× teacher", "STS-B ρ (test)", "% of teacher", "SICK r (test)"]
    copies = f"{args.augment_copies} augmented cop{'y' if args.augment_copies == 1 else 'ies'}"
    lines = [
        f"Teacher: {payload['teacher']['name']}. Students distilled on {payload['n_distillation_texts']:,} texts "
        f"(training-split sentences + {copies} each)"
        + (
            ", then fine-tuned on STS-B train (CoSENT) where that scored better on STS-B dev."
            if args.finetune_epochs > 0
            else "; no fine-tuning (--finetune-epochs 0)."
        ),
        "",
        f"Speed: {payload['n_speed_texts']:,} unique STS-B sentences, batch {args.batch_size}, torch threads "
        f"{payload['threads']}, median of {args.runs} alternating runs. Test figures ×100 with "
        "95% bootstrap CIs.",
        "",
        *markdown_table(header, rows),
        "",
    ]
    for kind, info in payload["towers"].items():
        dist = ", ".join(f"{e['dev_spearman']:.2f}" for e in info["distillation"])
        ft = info["finetuning"]
        ft_txt = ""
        if ft:
            hist = ", ".join(f"{h.get('cosine_spearman', float('nan')):.2f}" for h in ft["dev_history"])
            ft_txt = f"; fine-tuning dev ρ per evaluation: {hist}"
        lines.append(f"- {kind}: distillation dev ρ per epoch: {dist}{ft_txt}; kept: {info['chosen']}.")
    goal = payload["goal_lstm_95pct_at_10x"]
    if goal is not None:
        verdict = "met" if goal["met"] else "NOT met"
        lines += [
            "",
            f"**Goal (LSTM ≥ 95% of the teacher's STS-B ρ at ≥ 10× its sentences/s): {verdict}** — "
            f"{100 * goal['spearman_ratio']:.1f}% of the teacher's ρ at {goal['speed_ratio']:.1f}× its speed.",
        ]
    lines += ["", f"Total wall time: {payload['total_wall_s'] / 60:.1f} min."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
