"""Zero-shot evaluation of the embedded default model (all-MiniLM-L6-v2) on STS-B, SICK, MRPC and Quora.

This is the correctness check of the whole pipeline: the STS figures must reproduce published ones within ±0.1
(MTEB: STS-B test cosine Spearman 82.03; SICK-R 77.58 on all 9,927 pairs; 77.15 on the SemEval SICK test split,
measured independently). Thresholds for MRPC and Quora are chosen on dev and applied unchanged to test.

    python benchmarks/zero_shot.py [--data-dir ../shared/data] [--n-resamples 1000]

Writes benchmarks/results/zero_shot.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import write_results  # noqa: E402

# (dataset, split, metric key, published value, source)
REFERENCE = [
    ("stsb", "test", "cosine_spearman", 82.03, "MTEB STSBenchmark, all-MiniLM-L6-v2"),
    ("sick", "all", "cosine_spearman", 77.58, "MTEB SICK-R (train+trial+test, 9,927 pairs)"),
    ("sick", "test", "cosine_spearman", 77.15, "SemEval SICK test, independent script"),
]
RUNS = [("stsb", "test"), ("sick", "test"), ("sick", "all"), ("sick-e", "test"), ("mrpc", "test"), ("quora", "test")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="default: $TEXTSIAM_DATA")
    p.add_argument("--model", default=None, help="default: the embedded all-MiniLM-L6-v2")
    p.add_argument("--n-resamples", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()

    from textsiam import SiameseModel
    from textsiam.evaluation import EvaluationResults, evaluate_dataset, package_versions

    model = SiameseModel.from_pretrained(args.model, device="cpu")
    records = [
        evaluate_dataset(
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
    md = (
        "Default model, zero-shot. Thresholds (MRPC, Quora, SICK-E) are chosen on dev and applied to test. "
        "Quora train/dev are a leak-free split of the BiMPM dev file; test is BiMPM test. "
        "Note: all-MiniLM-L6-v2 saw Quora duplicates during its pre-training.\n\n"
        "## Reproduction check (must be within ±0.1)\n\n"
        "| dataset | split | metric | textsiam | reference | diff | ok | source |\n"
        "|---|---|---|---:|---:|---:|---|---|\n"
        + "".join(
            f"| {c['dataset']} | {c['split']} | {c['metric']} | {c['textsiam']:.2f} | {c['reference']:.2f} | "
            f"{c['difference']:+.2f} | {'yes' if c['within_0.1'] else 'NO'} | {c['source']} |\n"
            for c in checks
        )
        + "\n## All results\n\n"
        + results.to_markdown()
        + "\n"
    )
    write_results("zero_shot", {"reproduction_check": checks, "results": results.to_dict()}, md)
    print(md)
    if not all(c["within_0.1"] for c in checks):
        sys.exit("reproduction check FAILED")


if __name__ == "__main__":
    main()
