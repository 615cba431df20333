"""Fine-tuning on STS-B: textsiam vs sentence-transformers, side by side in one run.

Both start from the same model (the embedded all-MiniLM-L6-v2), train on the same STS-B train pairs (scores
scaled to [0, 1]) with the same loss (CoSENT or CosineSimilarityLoss), seed, epochs, batch size, learning
rate, linear warm-up / decay, weight decay and gradient clipping, and both save a checkpoint per epoch.
After every epoch both are scored on STS-B dev with the same textsiam dev metric (cosine Spearman); the
epoch with the best dev score is kept. The kept models are then evaluated on STS-B test with
``textsiam.evaluation`` (Spearman with a 95% bootstrap CI) and compared with a paired bootstrap
(``compare``: difference = textsiam - sentence-transformers). Training wall time of each (including the
per-epoch dev evaluation and checkpointing) and their ratio are recorded. textsiam trains first, then
sentence-transformers; run it with nothing else heavy on the machine.

    python -m benchmarks.finetune_stsb --loss cosent            # full recipe (tens of minutes on a CPU)
    python -m benchmarks.finetune_stsb --loss cosine --epochs 1
    python -m benchmarks.finetune_stsb --smoke                  # 64 pairs, 1 epoch, dev/test subsamples

Writes benchmarks/results/finetune/finetune_stsb.{json,md} (``--results-name``; ``--smoke`` adds ``_smoke``).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CONFIGS,
    SMOKE_OVERRIDES,
    add_set_argument,
    add_training_arguments,
    benchmark_parser,
    configure,
    markdown_table,
    training_overrides,
    write_results,
)

LOSS_CONFIG = {"cosent": "stsb.yaml", "cosine": "stsb_cosine.yaml"}
#: dev and test pairs of a ``--smoke`` run (:data:`SMOKE_OVERRIDES` caps dev at this size too)
SMOKE_EVAL_PAIRS = 200
logger = logging.getLogger("benchmarks.finetune_stsb")


def train_textsiam(config: Any) -> tuple[Any, Any]:
    """Train ``config`` with textsiam; the run's result and the saved (best) model."""
    from textsiam import SiameseModel
    from textsiam.training import train

    result = train(config, overwrite=True)
    model = SiameseModel.from_pretrained(result.model_dir)
    return result, model


def train_peer(config: Any, train_pairs: Any, dev_metric: Any, out_dir: Path) -> dict[str, Any]:
    """sentence-transformers with the same recipe; the epoch with the best dev metric is kept."""
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss
    from transformers import TrainerCallback

    from textsiam.model.loading import default_model_path
    from textsiam.training.examples import transform_labels

    model = SentenceTransformer(str(default_model_path()))
    labels = transform_labels(train_pairs["label"], "scale", (0.0, 5.0)).tolist()
    import datasets

    data = datasets.Dataset.from_dict(
        {"sentence1": list(train_pairs["text_a"]), "sentence2": list(train_pairs["text_b"]), "score": labels}
    )
    loss = CoSENTLoss(model) if config.loss == "cosent" else CosineSimilarityLoss(model)
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"value": float("-inf"), "state": None, "epoch": None}

    class DevEachEpoch(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
            value = float(dev_metric(model))
            history.append({"step": state.global_step, "epoch": float(state.epoch or 0), "value": value})
            logger.info(
                "sentence-transformers epoch %.0f: dev %s = %.2f", state.epoch or 0, dev_metric.metric_name, value
            )
            if value > best["value"]:
                best.update(value=value, epoch=state.epoch, state=copy.deepcopy(model.state_dict()))
            return control

    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float < 1 is a ratio
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="no",
        save_strategy="epoch",
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=loss, callbacks=[DevEachEpoch()]
    )
    start = time.perf_counter()
    output = trainer.train()
    wall = time.perf_counter() - start
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    return {
        "model": model,
        "train_wall_time_s": round(wall, 3),
        "global_step": trainer.state.global_step,
        "train_loss": float(output.training_loss),
        "dev_history": history,
        "best_epoch": best["epoch"],
        "best_dev": best["value"],
    }


def _fmt_ci(rec: dict[str, Any]) -> str:
    """``[low, high]`` of the primary metric of an evaluation record (empty without a CI)."""
    ci = rec["ci"].get(rec["primary_metric"])
    return f"[{ci['low']:.2f}, {ci['high']:.2f}]" if ci else ""


def render(payload: dict[str, Any], args: argparse.Namespace) -> str:
    """The markdown report: dev and test Spearman of each side, the paired comparison, dev per epoch."""
    config, ts, peer = payload["config"], payload["textsiam"], payload["sentence_transformers"]
    averaged, comparison, ratio = (
        payload["textsiam_averaged"],
        payload["comparison_test"],
        payload["time_ratio_textsiam_over_st"],
    )
    # result files written before dev_metric and n_resamples were recorded: the same values, from elsewhere
    metric = payload.get("dev_metric") or ts["dev"]["primary_metric"]
    n_resamples = payload.get("n_resamples") or config["n_resamples"]
    start = payload["start_model_test"]
    rows = [["start model", "–", f"{start['primary_value']:.2f}", _fmt_ci(start), "–", "–"]]
    rows += [
        [
            name,
            f"{info['dev']['primary_value']:.2f}",
            f"{info['test']['primary_value']:.2f}",
            _fmt_ci(info["test"]),
            f"{info['train_wall_time_s']:.1f}",
            info["global_step"],
        ]
        for name, info in (("textsiam", ts), ("sentence-transformers", peer))
    ]
    if averaged is not None:
        rows.append(
            [
                "textsiam + weight averaging",
                f"{averaged['dev']['primary_value']:.2f}",
                f"{averaged['test']['primary_value']:.2f}",
                _fmt_ci(averaged["test"]),
                f"{averaged['train_wall_time_s']:.1f}",
                ts["global_step"],
            ]
        )
    header = ["model", "dev Spearman", "test Spearman", "95% CI", "train wall time (s)", "steps"]
    lines = [
        f"STS-B fine-tuning, loss `{config['loss']}`, {payload['n_train_pairs']} train pairs, {config['epochs']:g} "
        f"epoch(s), batch {config['batch_size']}, lr {config['learning_rate']:g}, warm-up {config['warmup_ratio']:g}, "
        f"seed {config['seed']}. Best epoch by dev {metric} ({payload['n_dev_pairs']} pairs); test = "
        f"{payload['n_test_pairs']} pairs, {n_resamples} bootstrap resamples. All values ×100."
        + (" **Smoke run: numbers are not meaningful.**" if payload["smoke"] else ""),
        "",
        *markdown_table(header, rows, "lrrrrr"),
    ]
    if averaged is not None:
        rep, diff = averaged["report"], averaged["comparison_test"]
        lines += [
            "",
            f"Weight averaging, chosen on dev only (`--soup {args.soup}`, `--wise-alphas {args.wise_alphas}`): greedy "
            f"soup of {', '.join(rep['soup_members']) or 'the best checkpoint'}, WiSE-FT alpha {rep['wise_alpha']:.2f} "
            f"(dev {rep['best_checkpoint_dev']:.2f} -> {rep['final_dev']:.2f}, {rep['wall_time_s']:.0f} s). "
            f"Paired bootstrap on test (averaged textsiam − sentence-transformers): {diff['difference']:+.2f} "
            f"[{diff['ci']['low']:+.2f}, {diff['ci']['high']:+.2f}], p = {diff['p_value']:.3f}.",
        ]
    ts_history, peer_history = ts["dev_history"], peer["dev_history"]
    epochs = []
    for i in range(max(len(ts_history), len(peer_history))):
        a = ts_history[i] if i < len(ts_history) else None
        b = peer_history[i] if i < len(peer_history) else None
        epoch = (a or b)["epoch"]  # type: ignore[index]
        epochs.append([f"{epoch:.2f}", f"{a['value']:.2f}" if a else "–", f"{b['value']:.2f}" if b else "–"])
    lines += [
        "",
        f"Paired bootstrap on test (textsiam − sentence-transformers): {comparison['difference']:+.2f} "
        f"[{comparison['ci']['low']:+.2f}, {comparison['ci']['high']:+.2f}], p = {comparison['p_value']:.3f}.",
        f"Training time ratio textsiam / sentence-transformers: {ratio:.2f} (speed ratio {1 / ratio:.2f}×; "
        "measured in this run, which includes the dev evaluations; `python -m benchmarks.train_speed` times training "
        "alone in alternating rounds).",
        "",
        "Dev Spearman per epoch:",
        "",
        *markdown_table(["epoch", "textsiam", "sentence-transformers"], epochs, "rrr"),
    ]
    return "\n".join(lines)


def main() -> None:
    p = benchmark_parser(__doc__, "finetune")
    p.add_argument("--loss", choices=sorted(LOSS_CONFIG), default="cosent")
    p.add_argument("--config", default=None, help="textsiam config (default: configs/stsb.yaml or stsb_cosine.yaml)")
    add_training_arguments(p, smoke_help="64 train pairs, 1 epoch, 200 dev / 200 test pairs")
    p.add_argument(
        "--side",
        choices=["both", "textsiam", "peer", "report"],
        default="both",
        help="both: train textsiam then the peer, then report. textsiam / peer: train one side only (run the two "
        "at once, one thread each, for identical conditions); report: evaluate and compare the two saved sides",
    )
    p.add_argument("--results-name", default="finetune_stsb", help="result file name NAME.{json,md}")
    p.add_argument("--soup", action="store_true", help="also report textsiam + a greedy checkpoint soup (on dev)")
    p.add_argument(
        "--wise-alphas",
        default="",
        help="also report textsiam + WiSE-FT towards the start model, alpha chosen on dev from this list (0.5,0.7,...)",
    )
    add_set_argument(p)
    args = p.parse_args()
    configure(logging.INFO)

    import torch

    from benchmarks.common import evaluate_on
    from textsiam import SiameseModel
    from textsiam.data import load_pairs
    from textsiam.evaluation import DevMetric, compare
    from textsiam.evaluation.results import to_jsonable
    from textsiam.training import TrainConfig
    from textsiam.training.examples import subsample

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="finetune_stsb_"))
    overrides = [f"output_dir={work / 'textsiam'}", "test_datasets=[]", f"n_resamples={args.n_resamples}"]
    overrides += training_overrides(args)
    overrides += args.set
    eval_pairs = None
    if args.smoke:
        eval_pairs = SMOKE_EVAL_PAIRS
        overrides += SMOKE_OVERRIDES
    config = TrainConfig.from_file(args.config or CONFIGS / LOSS_CONFIG[args.loss]).with_overrides(overrides)
    config.validate()
    data_dir = config.data_dir

    train_pairs = subsample(load_pairs("stsb", "train", data_dir), config.max_train_pairs, config.seed)
    dev_pairs = subsample(load_pairs("stsb", "dev", data_dir), config.max_dev_pairs, config.seed)
    test_pairs = subsample(load_pairs("stsb", "test", data_dir), eval_pairs, config.seed)

    dev_metric = DevMetric("stsb", split="dev", pairs=dev_pairs, batch_size=config.eval_batch_size)
    ts_record, peer_record = work / "textsiam_run.json", work / "sentence_transformers_run.json"
    if args.side in ("both", "textsiam"):
        logger.info("=== textsiam")
        ts_result, _ = train_textsiam(config)
        ts_info = {
            "model_dir": str(ts_result.model_dir),
            "train_wall_time_s": ts_result.train_wall_time_s,
            "global_step": ts_result.global_step,
            "train_loss": ts_result.train_loss,
            "dev_history": ts_result.dev_history,
            "best_checkpoint": ts_result.best_checkpoint,
            "best_metric": ts_result.best_metric,
        }
        ts_record.write_text(json.dumps(to_jsonable(ts_info), indent=2))
    if args.side in ("both", "peer"):
        logger.info("=== sentence-transformers")
        torch.manual_seed(config.seed)
        peer = train_peer(config, train_pairs, dev_metric, work / "sentence-transformers")
        peer.pop("model").save(str(work / "sentence-transformers-best"))
        peer_record.write_text(json.dumps(to_jsonable(peer), indent=2))
    if args.side in ("textsiam", "peer"):
        logger.info("trained one side; run again with --side report --work-dir %s once both are done", work)
        return
    for record in (ts_record, peer_record):
        if not record.exists():
            raise SystemExit(f"{record} is missing: train that side first (--side textsiam / --side peer)")
    from sentence_transformers import SentenceTransformer

    ts_info = json.loads(ts_record.read_text())
    ours = SiameseModel.from_pretrained(ts_info["model_dir"])
    peer = json.loads(peer_record.read_text())
    peer_model = SentenceTransformer(str(work / "sentence-transformers-best"), device="cpu")

    boot = {"n_resamples": args.n_resamples, "seed": config.seed, "batch_size": config.eval_batch_size}
    start_model = SiameseModel.from_pretrained(None)
    tests = {
        name: evaluate_on(model, "stsb", "test", data_dir, pairs=test_pairs, **boot)
        for name, model in (("start model", start_model), ("textsiam", ours), ("sentence-transformers", peer_model))
    }
    devs = {
        name: evaluate_on(model, "stsb", "dev", data_dir, pairs=dev_pairs, **boot)
        for name, model in (("textsiam", ours), ("sentence-transformers", peer_model))
    }

    def versus_peer(model: Any) -> dict[str, Any]:
        """Paired bootstrap on test: ``model`` − sentence-transformers."""
        test_args = {"pairs": test_pairs, "batch_size": config.eval_batch_size}
        return compare(peer_model, model, "stsb", "test", data_dir, args.n_resamples, config.seed, **test_args)

    averaged = None
    if args.soup or args.wise_alphas:
        from textsiam.training.averaging import average_run

        alphas = [float(a) for a in args.wise_alphas.split(",")] if args.wise_alphas else []
        logger.info("=== textsiam + weight averaging (soup=%s, WiSE alphas %s), chosen on dev", args.soup, alphas)
        avg_model, report = average_run(Path(ts_info["model_dir"]).parent, soup=args.soup, wise_alphas=alphas)
        averaged = {
            "report": report.to_dict(),
            "train_wall_time_s": round(ts_info["train_wall_time_s"] + report.wall_time_s, 3),
            "dev": evaluate_on(avg_model, "stsb", "dev", data_dir, pairs=dev_pairs, **boot),
            "test": evaluate_on(avg_model, "stsb", "test", data_dir, pairs=test_pairs, **boot),
            "comparison_test": versus_peer(avg_model),
        }
    comparison = versus_peer(ours)
    ratio = ts_info["train_wall_time_s"] / peer["train_wall_time_s"] if peer["train_wall_time_s"] else float("nan")
    metric = dev_metric.metric_name
    ts_history = [{"step": h["step"], "epoch": h["epoch"], "value": h[metric]} for h in ts_info["dev_history"]]
    payload = {
        "loss": config.loss,
        "smoke": args.smoke,
        "config": config.to_dict(),
        "n_train_pairs": len(train_pairs),
        "n_dev_pairs": len(dev_pairs),
        "n_test_pairs": len(test_pairs),
        "textsiam": {
            "train_wall_time_s": ts_info["train_wall_time_s"],
            "global_step": ts_info["global_step"],
            "train_loss": ts_info["train_loss"],
            "dev_history": ts_history,
            "best_checkpoint": ts_info["best_checkpoint"],
            "best_dev": ts_info["best_metric"],
            "dev": devs["textsiam"],
            "test": tests["textsiam"],
        },
        "sentence_transformers": {**peer, "dev": devs["sentence-transformers"], "test": tests["sentence-transformers"]},
        "start_model_test": tests["start model"],
        "comparison_test": comparison,
        "time_ratio_textsiam_over_st": ratio,
        "textsiam_averaged": averaged,
        "dev_metric": metric,
        "n_resamples": args.n_resamples,
    }
    payload = to_jsonable(payload)
    body = render(payload, args)
    write_results(args.results_dir, args.results_name + ("_smoke" if args.smoke else ""), payload, body)
    print(body)


if __name__ == "__main__":
    main()
