"""HNSW search of a mining run's own rows: from the graph's entry point, or from each row's own node.

Every query of ``textsiam mine`` is one of the indexed texts. ``index.search`` descends the HNSW graph from its
global entry point to find a node near the query; ``textsiam.mining.index.search_own_rows`` starts at the
query's own node on the bottom level (faiss ``search_level_0``). This compares the two on the stored embeddings
of a real run (``textsiam mine --work-dir DIR`` keeps them): the HNSW index ``textsiam mine`` builds
(``HNSW16`` with the storage precision's codec), then for each ``--ef-search``:

* seconds to search the first ``--queries`` rows (alternating runs, median), at the machine's faiss threads;
* tie-aware recall@10 against exact search over the stored vectors, on ``--recall-sample`` random rows: a
  returned neighbour counts when its exact score reaches the row's 10th best (so which of several identical
  copies was returned does not matter).

    python -m benchmarks.hnsw_search --embeddings /work/runs/s8/mining/scale_store/embeddings.int8.bin \\
        --precision int8 --dim 256

Writes benchmarks/results/scale/hnsw_search.{json,md}.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import alternating_times, benchmark_parser, configure, markdown_table, medians, write_results

logger = logging.getLogger("benchmarks.hnsw_search")
TOP_K = 10


def exact_top(store: Any, sample: np.ndarray, k: int, block: int = 100_000) -> np.ndarray:
    """``(S, k + 1)`` exact best scores of the sampled rows over all rows, self included, best first."""
    queries = store.take(sample)
    best = np.full((len(sample), k + 1), -np.inf, dtype=np.float32)
    for start in range(0, store.n, block):
        scores = queries @ store.rows(start, min(start + block, store.n)).T
        both = np.concatenate([best, scores], axis=1)
        best = -np.sort(-both, axis=1)[:, : k + 1]
    return best


def tie_aware_recall(store: Any, sample: np.ndarray, kth: np.ndarray, found: np.ndarray) -> float:
    """Mean share of the ``TOP_K`` places filled by a neighbour scoring at least the row's exact ``TOP_K``-th best."""
    queries = store.take(sample)
    credited = []
    for r, q in enumerate(sample.tolist()):
        ids = [j for j in found[r].tolist() if j >= 0 and j != q][:TOP_K]
        scores = store.take(np.array(ids, dtype=np.int64)) @ queries[r] if ids else np.zeros(0)
        credited.append(min(TOP_K, int(np.sum(scores >= kth[r] - 1e-6))) / TOP_K)
    return float(np.mean(credited))


def render(payload: dict[str, Any]) -> str:
    rows = []
    for r in payload["runs"]:
        rows.append(
            [
                r["ef_search"],
                f"{r['plain_s']:.2f}",
                f"{r['own_s']:.2f}",
                f"{r['plain_s'] / r['own_s']:.2f}×",
                f"{r['plain_recall']:.4f}",
                f"{r['own_recall']:.4f}",
            ]
        )
    header = ["ef_search", "index.search s", "search_own_rows s", "speed-up", "recall@10 plain", "recall@10 own"]
    return "\n".join(
        [
            f"`{payload['factory']}` over {payload['n']:,} stored vectors ({payload['embeddings']}); built in "
            f"{payload['build_s']:.1f} s. Search: the first {payload['queries']:,} rows, median of "
            f"{payload['repeats']} alternating runs, {payload['faiss_threads']} faiss threads. Recall: "
            f"{payload['recall_sample']:,} random rows against exact search (ties included).",
            "",
            *markdown_table(header, rows, "rrrrrr"),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    p = benchmark_parser(__doc__, "scale", data_dir=False)
    p.add_argument("--embeddings", required=True, help="embeddings.<precision>.bin of `textsiam mine --work-dir`")
    p.add_argument("--precision", default="int8", choices=["float16", "int8", "float32"])
    p.add_argument("--dim", type=int, required=True, help="the embedding width")
    p.add_argument("--ef-search", default="32,64,128", help="comma-separated")
    p.add_argument("--queries", type=int, default=50_000)
    p.add_argument("--recall-sample", type=int, default=2_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    configure(logging.WARNING if args.quiet else logging.INFO)
    import faiss

    from textsiam.mining.index import build_index, index_plan, search_own_rows
    from textsiam.mining.store import EmbeddingFile

    path = Path(args.embeddings)
    store = EmbeddingFile(path, args.precision)
    store.dim = args.dim
    store.n = path.stat().st_size // (args.dim * store.dtype.itemsize)
    plan = index_plan(store.n, "hnsw", args.precision, 0, None, None, 16)
    t0 = time.perf_counter()
    index, _ = build_index(store, plan, 10_000, 64, 0, not args.quiet)
    build_s = time.perf_counter() - t0
    logger.info("built %s over %d vectors in %.1f s", plan["factory"], store.n, build_s)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(store.n, size=min(args.recall_sample, store.n), replace=False))
    kth = exact_top(store, sample, TOP_K)[:, TOP_K]  # the 10th best other row (the best is the row itself)
    queries = store.rows(0, min(args.queries, store.n))
    sample_rows = store.take(sample)
    runs = []
    for ef in [int(x) for x in args.ef_search.split(",") if x]:
        index.hnsw.efSearch = ef
        fns = {
            "plain": lambda: index.search(queries, TOP_K + 1),
            "own": lambda: search_own_rows(index, queries, 0, TOP_K + 1),
        }
        times = medians(alternating_times(fns, args.repeats, f"ef {ef}", items=len(queries), unit="queries"))
        plain = index.search(sample_rows, TOP_K + 1)[1]
        own = np.concatenate(
            [search_own_rows(index, sample_rows[r : r + 1], int(q), TOP_K + 1)[1] for r, q in enumerate(sample)]
        )
        run = {
            "ef_search": ef,
            "plain_s": times["plain"],
            "own_s": times["own"],
            "plain_recall": tie_aware_recall(store, sample, kth, plain),
            "own_recall": tie_aware_recall(store, sample, kth, own),
        }
        logger.info("%s", run)
        runs.append(run)
    payload = {
        "name": "hnsw_search",
        "embeddings": str(path),
        "n": store.n,
        "factory": plan["factory"],
        "build_s": build_s,
        "queries": len(queries),
        "repeats": args.repeats,
        "recall_sample": len(sample),
        "faiss_threads": faiss.omp_get_max_threads(),
        "runs": runs,
    }
    write_results(args.results_dir, payload["name"], payload, render(payload))


if __name__ == "__main__":
    main()
