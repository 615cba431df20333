"""Encode speed: textsiam vs sentence-transformers, side by side in one run.

Both libraries load the same model (the embedded all-MiniLM-L6-v2), encode the same texts with the same batch
size and the same number of torch threads, fp32, on the CPU. Runs alternate A/B/A/B so that drift in machine
load hits both; the figure is the median over runs. Run it with nothing else heavy on the machine.

    python benchmarks/encode_speed.py --runs 5

Writes benchmarks/results/encode_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import write_results  # noqa: E402


def stsb_sentences(data_dir: str | None) -> list[str]:
    from textsiam.data import load_pairs

    seen: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        ds = load_pairs("stsb", split, data_dir=data_dir)
        for t in list(ds["text_a"]) + list(ds["text_b"]):
            seen.setdefault(t, None)
    return list(seen)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="default: $TEXTSIAM_DATA")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    p.add_argument("--limit", type=int, default=None, help="encode only the first N sentences")
    args = p.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from textsiam import SiameseModel
    from textsiam.siamese import default_model_path

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = stsb_sentences(args.data_dir)[: args.limit]
    path = str(default_model_path())
    ours = SiameseModel.from_pretrained(path, device="cpu")
    peer = SentenceTransformer(path, device="cpu")

    def run_ours() -> None:
        ours.encode(texts, batch_size=args.batch_size)

    def run_peer() -> None:
        peer.encode(texts, batch_size=args.batch_size)

    # warm-up, then check both give the same embeddings
    import numpy as np

    diff = float(np.abs(ours.encode(texts[:256]) - peer.encode(texts[:256])).max())
    times: dict[str, list[float]] = {"textsiam": [], "sentence-transformers": []}
    for r in range(args.runs):
        order = [("textsiam", run_ours), ("sentence-transformers", run_peer)]
        if r % 2:
            order.reverse()
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            print(f"run {r + 1}/{args.runs} {name}: {len(texts) / times[name][-1]:.1f} sentences/s", flush=True)

    rate = {k: len(texts) / statistics.median(v) for k, v in times.items()}
    ratio = rate["textsiam"] / rate["sentence-transformers"]
    payload = {
        "texts": len(texts),
        "dataset": "STS-B train+dev+test unique sentences",
        "batch_size": args.batch_size,
        "runs": args.runs,
        "precision": "fp32",
        "max_abs_embedding_diff": diff,
        "seconds": times,
        "sentences_per_second": rate,
        "ratio_textsiam_over_st": ratio,
    }
    md = (
        f"{len(texts)} unique STS-B sentences, batch {args.batch_size}, fp32, median of {args.runs} alternating runs. "
        f"Max abs embedding difference between the two: {diff:.2e}.\n\n"
        "| library | sentences/s (median) | runs (s) |\n|---|---|---|\n"
        + "".join(f"| {k} | {rate[k]:.1f} | {', '.join(f'{t:.2f}' for t in times[k])} |\n" for k in times)
        + f"\n**Ratio textsiam / sentence-transformers: {ratio:.2f}x**\n"
    )
    j, m = write_results("encode_speed", payload, md)
    print(md)
    print(f"wrote {j} and {m}")


if __name__ == "__main__":
    main()
