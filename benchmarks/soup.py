"""Greedy weight soup of fine-tuned runs, chosen on dev, then scored on dev and test.

The models are runs of one recipe with different hyper-parameters or start points (e.g. a learning-rate sweep
on SICK). ``textsiam.training.averaging.soup_models`` scores each on the dataset's **dev** split and averages
their weights greedily from the best down, keeping a model only if dev does not drop (Wortsman et al., ICML
2022). The soup is saved, evaluated on dev and test with 95% bootstrap CIs (thresholds of classification tasks
from dev), and compared on test with the best single model by dev (paired bootstrap on the primary metric).
Test plays no part in any choice.

    python -m benchmarks.soup --dataset sick --models runs/a/model runs/b/model runs/c/model \\
        --output-dir runs/sick_soup --results-name finetune_sick_soup

Writes ``benchmarks/results/finetune/<results-name>.{json,md}``.
"""

from __future__ import annotations

import logging
from typing import Any

from benchmarks.common import benchmark_parser, configure, markdown_table, metric_cell, write_results

#: metrics shown per task, after the primary similarity's prefix (e.g. cosine_)
SHOWN = {"sts": ("pearson", "spearman", "mse"), "classification": ("accuracy", "f1", "ap")}


def render(payload: dict[str, Any], n_resamples: int) -> str:
    """The markdown report: the candidates, the soup trials, and soup vs the best single model."""
    report, records, paired = payload["averaging"], payload["soup"], payload["soup_vs_best_single_test"]
    best, best_test = payload["best_single"], payload["best_single"]["test"]
    singles = [t for t in report["trials"] if t["kind"] == "model"]
    task = records["test"]["task"]
    sim = records["test"]["primary_similarity"]
    shown = [f"{sim}_{m}" for m in SHOWN.get(task, ())]
    lines = [
        f"Greedy soup on `{payload['dataset']}` dev ({report['metric_name']}) of {len(payload['models'])} fine-tuned "
        f"models; 95% bootstrap CIs ({n_resamples} resamples); ×100 except `*_mse`"
        + (" (thresholds from dev)" if task == "classification" else "")
        + ".",
        "",
        *markdown_table(
            ["candidate", f"dev {report['metric_name']}", "in the soup"],
            ([f"`{t['members'][0]}`", f"{t['dev']:.2f}", "yes" if t["kept"] else "no"] for t in singles),
            "lrl",
        ),
        "",
        "Soup trials (from the best single model down):",
        "",
    ]
    lines += [
        f"- {' + '.join(f'`{m}`' for m in t['members'])}: dev {t['dev']:.2f} ({'kept' if t['kept'] else 'dropped'})"
        for t in report["trials"]
        if t["kind"] == "soup"
    ]
    rows = [["soup", split, *(metric_cell(records[split], m) for m in shown)] for split in ("dev", "test")]
    rows.append(["best single model by dev", "test", *(metric_cell(best_test, m) for m in shown)])
    lines += ["", *markdown_table(["model", "split", *shown], rows, "ll" + "r" * len(shown))]
    lines += [
        "",
        f"Best single model by dev: `{best['model']}` (dev {best['dev']:.2f}). Paired bootstrap on test, "
        f"soup − best single ({paired['metric']}): {paired['difference']:+.2f} [{paired['ci']['low']:+.2f}, "
        f"{paired['ci']['high']:+.2f}], p = {paired['p_value']:.3f}. Soup built in {report['wall_time_s']:.0f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = benchmark_parser(__doc__, "finetune")
    p.add_argument("--dataset", required=True, help="benchmark whose dev split picks the soup and whose test scores it")
    p.add_argument("--models", nargs="+", required=True, help="saved model directories (two or more)")
    p.add_argument("--output-dir", required=True, help="where the soup is saved (replaced)")
    p.add_argument("--results-name", required=True, help="results file name, e.g. finetune_sick_soup")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default)")
    args = p.parse_args()
    configure(logging.INFO)
    import torch

    from textsiam import SiameseModel
    from textsiam.evaluation import compare, evaluate, make_dev_metric
    from textsiam.evaluation.results import to_jsonable
    from textsiam.training.averaging import soup_models

    if args.threads:
        torch.set_num_threads(args.threads)
    metric = make_dev_metric(args.dataset, args.data_dir)
    soup, report = soup_models(args.models, metric)
    soup.save(args.output_dir)
    singles = [t for t in report.trials if t["kind"] == "model"]
    best = max(singles, key=lambda t: t["dev"])
    best_model = SiameseModel.from_pretrained(best["members"][0], device="cpu")
    boot = {"n_resamples": args.n_resamples, "seed": 0}
    records = {
        split: evaluate(soup, [args.dataset], split, args.data_dir, **boot).results[0] for split in ("dev", "test")
    }
    best_test = evaluate(best_model, [args.dataset], "test", args.data_dir, **boot).results[0]
    paired = compare(best_model, soup, args.dataset, "test", args.data_dir, **boot)  # difference = soup - best
    payload: dict[str, Any] = {
        "dataset": args.dataset,
        "models": args.models,
        "soup_dir": args.output_dir,
        "averaging": report.to_dict(),
        "soup": records,
        "best_single": {"model": best["members"][0], "dev": best["dev"], "test": best_test},
        "soup_vs_best_single_test": paired,
    }
    payload = to_jsonable(payload)
    body = render(payload, args.n_resamples)
    write_results(args.results_dir, args.results_name, payload, body)
    print(body)


if __name__ == "__main__":
    main()
