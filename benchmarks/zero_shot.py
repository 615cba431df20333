"""Zero-shot evaluation of the embedded default model (all-MiniLM-L6-v2) on STS-B, SICK, MRPC and Quora.

This is the correctness check of the whole pipeline: the STS figures must reproduce published ones within ±0.1
(MTEB: STS-B test cosine Spearman 82.03; SICK-R 77.58 on all 9,927 pairs; 77.15 on the SemEval SICK test split,
measured independently). Thresholds for MRPC and Quora are chosen on dev and applied unchanged to test.

    python -m benchmarks.zero_shot [--data-dir ../shared/data] [--n-resamples 1000] [--results-dir /tmp/trial]

Writes benchmarks/results/zero_shot/zero_shot.{json,md}.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from benchmarks.common import benchmark_parser, configure, markdown_table, write_results

# (dataset, split, metric key, published value, source)
REFERENCE = [
    ("stsb", "test", "cosine_spearman", 82.03, "MTEB STSBenchmark, all-MiniLM-L6-v2"),
    ("sick", "all", "cosine_spearman", 77.58, "MTEB SICK-R (train+trial+test, 9,927 pairs)"),
    ("sick", "test", "cosine_spearman", 77.15, "SemEval SICK test, independent script"),
]
RUNS = [("stsb", "test"), ("sick", "test"), ("sick", "all"), ("sick-e", "test"), ("mrpc", "test"), ("quora", "test")]


def reproduction_checks(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each :data:`REFERENCE` figure next to the one measured, and whether they agree within ±0.1."""
    checks = []
    for name, split, key, ref, source in REFERENCE:
        got = next(r for r in records if r["dataset"] == name and r["split"] == split)["metrics"][key]
        checks.append(
            {
                "dataset": name,
                "split": split,
                "metric": key,
                "textsiam": round(got, 2),
                "reference": ref,
                "difference": round(got - ref, 2),
                "within_0.1": abs(got - ref) <= 0.1,
                "source": source,
            }
        )
    return checks


def render(checks: list[dict[str, Any]], results_markdown: str) -> str:
    """The markdown report: the reproduction check, then every result (``EvaluationResults.to_markdown``)."""
    rows = [
        [
            c["dataset"],
            c["split"],
            c["metric"],
            f"{c['textsiam']:.2f}",
            f"{c['reference']:.2f}",
            f"{c['difference']:+.2f}",
            "yes" if c["within_0.1"] else "NO",
            c["source"],
        ]
        for c in checks
    ]
    header = ["dataset", "split", "metric", "textsiam", "reference", "diff", "ok", "source"]
    return "\n".join(
        [
            "Default model, zero-shot. Thresholds (MRPC, Quora, SICK-E) are chosen on dev and applied to test. "
            "Quora train/dev are a leak-free split of the BiMPM dev file; test is BiMPM test. "
            "Note: all-MiniLM-L6-v2 saw Quora duplicates during its pre-training.",
            "",
            "## Reproduction check (must be within ±0.1)",
            "",
            *markdown_table(header, rows, "lllrrrll"),
            "",
            "## All results",
            "",
            results_markdown,
            "",
        ]
    )


def main() -> None:
    p = benchmark_parser(__doc__, "zero_shot", model=True)
    p.add_argument("--n-resamples", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    configure(logging.WARNING)

    from benchmarks.common import evaluate_on
    from textsiam import SiameseModel
    from textsiam.evaluation import EvaluationResults
    from textsiam.version import package_versions

    model = SiameseModel.from_pretrained(args.model, device="cpu")
    records = [
        evaluate_on(
            model,
            name,
            split,
            args.data_dir,
            batch_size=args.batch_size,
            n_resamples=args.n_resamples,
            seed=0,
            show_progress_bar=True,
        )
        for name, split in RUNS
    ]
    results = EvaluationResults(
        results=records,
        model=model.name_or_path,
        split="test (SICK also 'all')",
        seed=0,
        n_resamples=args.n_resamples,
        versions=package_versions(),
        wall_time_s=round(sum(r["wall_time_s"] for r in records), 2),
    )
    checks = reproduction_checks(records)
    md = render(checks, results.to_markdown())
    write_results(args.results_dir, "zero_shot", {"reproduction_check": checks, "results": results.to_dict()}, md)
    print(md)
    if not all(c["within_0.1"] for c in checks):
        sys.exit("reproduction check FAILED")


if __name__ == "__main__":
    main()
