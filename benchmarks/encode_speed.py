"""Encode speed: textsiam vs sentence-transformers, side by side in one run.

Every path loads the same model (the embedded all-MiniLM-L6-v2) and encodes the same texts with the same batch
size and the same number of threads, on the CPU. Runs alternate between the paths (the order flips every run)
so that drift in machine load hits all of them; each figure is the median over runs. Run it with nothing else
heavy on the machine.

Paths:

* ``textsiam-fp32``: ``SiameseModel.from_pretrained()`` (torch, float32, exact);
* ``textsiam-onnx-fp32``: ``from_pretrained(backend="onnx")`` (ONNX Runtime, fused graph, float32);
* ``textsiam-int8``: ``from_pretrained(backend="onnx", quantize="int8")``;
* ``st-fp32``: ``SentenceTransformer(path)`` (torch, float32);
* ``st-onnx-int8``: sentence-transformers' ONNX backend with ``export_dynamic_quantized_onnx_model``, if it
  installs here (it needs ``optimum-onnx``; when it does not, the reason is recorded).

Workloads: ``short`` = the unique STS-B sentences (train+dev+test), ``long`` = 256-token paragraphs built
deterministically by concatenating STS-B sentences in order. Also measured: p50/p99 latency of one
``similarity(a, b)`` call on a warm model, STS-B test Spearman (cosine) of each path, and the gain of
``similarity()``'s de-duplication on the Quora test pairs.

    python -m benchmarks.encode_speed --runs 5          # the full run
    python -m benchmarks.encode_speed --quick           # a small smoke run (minutes)

Writes benchmarks/results/speed/encode_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import (
    alternating_times,
    benchmark_parser,
    configure,
    markdown_table,
    medians,
    resolve_data_dir,
    write_results,
)

LONG_TOKENS = 256
logger = logging.getLogger("benchmarks.encode_speed")


def stsb_sentences(data_dir: str | None) -> list[str]:
    """The unique sentences of STS-B train, dev and test, in first-seen order."""
    from textsiam.data import load_pairs

    seen: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        ds = load_pairs("stsb", split, data_dir=data_dir)
        for t in list(ds["text_a"]) + list(ds["text_b"]):
            seen.setdefault(t, None)
    return list(seen)


def long_paragraphs(sentences: list[str], tokenizer: Any, count: int, tokens: int = LONG_TOKENS) -> list[str]:
    """``count`` paragraphs of at least ``tokens`` tokens: consecutive STS-B sentences joined by spaces."""
    out: list[str] = []
    i = 0
    while len(out) < count:
        parts: list[str] = []
        n = 2  # [CLS] and [SEP]
        while n < tokens:
            s = sentences[i % len(sentences)]
            i += 1
            parts.append(s)
            n += len(tokenizer.tokenize(s))
        out.append(" ".join(parts))
    return out


class Contender:
    """One way of encoding: a name, an encode function, a one-pair similarity function, a model for evaluation."""

    def __init__(
        self,
        name: str,
        encode: Callable[[list[str], int], Any],
        pair: Callable[[str, str], float],
        model: Any,
        load_s: float,
    ) -> None:
        self.name = name
        self.encode = encode
        self.pair = pair
        self.model = model
        self.load_s = load_s


def build_paths(args: argparse.Namespace, model_path: str, notes: dict[str, str]) -> list[Contender]:
    """Load every path of ``--paths`` (its load time recorded); why a path did not load goes into ``notes``."""
    import numpy as np

    from textsiam import SiameseModel

    wanted = set(args.paths)
    paths: list[Contender] = []

    def ts(name: str, **kw: Any) -> None:
        if name not in wanted:
            return
        t0 = time.perf_counter()
        try:
            m = SiameseModel.from_pretrained(model_path, device="cpu", **kw)
        except ImportError as err:
            notes[name] = f"not run: {err}"
            logger.warning("%s: %s", name, notes[name])
            return
        load_s = time.perf_counter() - t0
        paths.append(
            Contender(
                name, lambda x, bs, m=m: m.encode(x, batch_size=bs), lambda a, b, m=m: m.similarity(a, b), m, load_s
            )
        )

    ts("textsiam-fp32")
    ts("textsiam-onnx-fp32", backend="onnx")
    ts("textsiam-int8", backend="onnx", quantize="int8")

    def st_path(name: str, st: Any, load_s: float) -> Contender:
        def pair(a: str, b: str, st: Any = st) -> float:
            e = st.encode([a, b])
            return float(np.dot(e[0], e[1]) / (np.linalg.norm(e[0]) * np.linalg.norm(e[1])))

        return Contender(name, lambda x, bs, st=st: st.encode(x, batch_size=bs), pair, st, load_s)

    from sentence_transformers import SentenceTransformer

    if "st-fp32" in wanted:
        t0 = time.perf_counter()
        st = SentenceTransformer(model_path, device="cpu")
        paths.append(st_path("st-fp32", st, time.perf_counter() - t0))
    if "st-onnx-int8" in wanted:
        try:
            t0 = time.perf_counter()
            from sentence_transformers import export_dynamic_quantized_onnx_model

            tmp = Path(tempfile.mkdtemp(prefix="st-onnx-"))
            local = tmp / "model"
            shutil.copytree(model_path, local)  # the export writes into the model folder: never the package's
            st_onnx = SentenceTransformer(str(local), device="cpu", backend="onnx")
            export_dynamic_quantized_onnx_model(st_onnx, "avx2", str(local))
            st_q = SentenceTransformer(
                str(local), device="cpu", backend="onnx", model_kwargs={"file_name": "onnx/model_qint8_avx2.onnx"}
            )
            paths.append(st_path("st-onnx-int8", st_q, time.perf_counter() - t0))
        except Exception as err:  # noqa: BLE001 - record why the peer's fast path is missing
            notes["st-onnx-int8"] = f"not run: {type(err).__name__}: {str(err).splitlines()[0][:300]}"
            logger.warning("st-onnx-int8: %s", notes["st-onnx-int8"])
    return paths


def time_alternating(
    paths: list[Contender], texts: list[str], batch_size: int, runs: int, label: str
) -> dict[str, list[float]]:
    """Seconds of encoding ``texts`` with each path, ``runs`` times, alternating between the paths."""
    jobs = {p.name: lambda p=p: p.encode(texts, batch_size) for p in paths}
    return alternating_times(jobs, runs, label, items=len(texts))


def latency(paths: list[Contender], pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """p50 / p99 milliseconds of one ``similarity(a, b)`` call on a warm model (calls interleaved across paths)."""
    import numpy as np

    samples: dict[str, list[float]] = {p.name: [] for p in paths}
    for p in paths:  # warm-up
        for a, b in pairs[:5]:
            p.pair(a, b)
    for i, (a, b) in enumerate(pairs):
        order = paths if i % 2 == 0 else paths[::-1]
        for p in order:
            t0 = time.perf_counter()
            p.pair(a, b)
            samples[p.name].append((time.perf_counter() - t0) * 1000)
    return {
        k: {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99)), "calls": len(v)}
        for k, v in samples.items()
    }


def spearman_of(paths: list[Contender], data_dir: str | None, limit: int | None) -> dict[str, float]:
    from benchmarks.common import evaluate_on
    from textsiam.data import load_pairs

    test = load_pairs("stsb", "test", data_dir=data_dir)
    if limit:
        test = test.select(range(min(limit, len(test))))
    out = {}
    for p in paths:
        res = evaluate_on(p.model, "stsb", "test", data_dir, pairs=test, n_resamples=0, primary_similarity="cosine")
        out[p.name] = float(res["metrics"]["cosine_spearman"])
        logger.info("[spearman] %s: %.2f", p.name, out[p.name])
    return out


def caching_gain(model: Any, data_dir: str | None, limit: int | None, runs: int, batch_size: int) -> dict[str, Any]:
    """``similarity(a, b)`` (each distinct text encoded once) vs encoding both columns in full."""
    import numpy as np

    from textsiam.data import load_pairs
    from textsiam.model.scoring import pairwise_similarity

    ds = load_pairs("quora", "test", data_dir=data_dir)
    a, b = list(ds["text_a"]), list(ds["text_b"])
    if limit:
        a, b = a[:limit], b[:limit]

    def cached() -> np.ndarray:
        return model.similarity(a, b, batch_size=batch_size)

    def uncached() -> np.ndarray:
        ea = model.encode(a, batch_size=batch_size)
        eb = model.encode(b, batch_size=batch_size)
        return pairwise_similarity(ea, eb, model.similarity_fn_name).numpy()

    results: dict[str, np.ndarray] = {}
    times = alternating_times({"cached": cached, "uncached": uncached}, runs, "quora cache", outputs=results)
    med = medians(times)
    return {
        "pairs": len(a),
        "texts": 2 * len(a),
        "unique_texts": len(set(a) | set(b)),
        "seconds": times,
        "median_s": med,
        "speedup": med["uncached"] / med["cached"],
        "max_abs_score_diff": float(np.abs(results["cached"] - results["uncached"]).max()),
    }


def render(payload: dict[str, Any]) -> str:
    """The markdown report: a row per path (speed on both workloads, latency, Spearman, agreement), then notes."""
    rates, lat, spear = payload["texts_per_second"], payload["similarity_latency"], payload["stsb_test_spearman"]
    diffs, cache, ratio = (
        payload["embedding_agreement_vs_textsiam_fp32"],
        payload["quora_cache"],
        payload["ratio_textsiam_over_st"],
    )
    nan = float("nan")

    def speed(wl: str, n: str) -> list[str]:  # texts/s of path n on workload wl, and its multiple of st-fp32
        r = rates.get(wl, {})
        if n not in r:
            return ["-", "-"]
        return [f"{r[n]:.1f}", f"{r[n] / r['st-fp32']:.2f}x" if "st-fp32" in r else "-"]

    rows = [
        [
            n,
            f"{payload['load_seconds'][n]:.1f}",
            *speed("short", n),
            *speed("long", n),
            f"{lat.get(n, {}).get('p50_ms', nan):.1f}",
            f"{lat.get(n, {}).get('p99_ms', nan):.1f}",
            f"{spear.get(n, nan):.2f}",
            f"{diffs.get(n, {}).get('min_cosine', nan):.4f}",
        ]
        for n in payload["paths"]
    ]
    header = ["path", "load s", "short texts/s", "x st-fp32", "long texts/s", "x st-fp32", "sim p50 ms", "sim p99 ms"]
    md = [
        f"{payload['texts']} unique STS-B sentences (short) and {payload['long_texts']} {LONG_TOKENS}-token paragraphs "
        f"(long), batch {payload['batch_size']}, median of {payload['runs']} alternating runs"
        + (" (**--quick smoke run**)" if payload["quick"] else "")
        + ".\n",
        *markdown_table([*header, "STS-B Spearman", "min cos vs fp32"], rows),
    ]
    md += [f"\n- {n}: {why}" for n, why in payload["notes"].items()]
    if ratio is not None:
        md.append(f"\n**Ratio textsiam / sentence-transformers (fp32, short): {ratio:.2f}x**")
    if payload["fastest_short"]:
        md.append(f"\nFastest path on short texts: **{payload['fastest_short']}**.")
    if cache:
        md.append(
            f"\nQuora test caching: {cache['pairs']} pairs, {cache['texts']} texts, {cache['unique_texts']} unique; "
            f"similarity() with de-duplication {cache['median_s']['cached']:.2f}s vs encoding both columns "
            f"{cache['median_s']['uncached']:.2f}s: **{cache['speedup']:.2f}x**; max score difference "
            f"{cache['max_abs_score_diff']:.1e}."
        )
    md.append(
        "\nload s: loading (the onnx paths include exporting, fusing and quantising the graph). sim p50/p99: one "
        "`similarity(a, b)` call on a warm model (for sentence-transformers: `encode([a, b])` + cosine). "
        "min cos vs fp32: lowest cosine between a path's embedding and textsiam-fp32's over 256 STS-B sentences."
    )
    return "\n".join(md)


def main() -> None:
    all_paths = ["textsiam-fp32", "textsiam-onnx-fp32", "textsiam-int8", "st-fp32", "st-onnx-int8"]
    p = benchmark_parser(__doc__, "speed")
    p.add_argument("--runs", type=int, default=5, help="alternating runs per workload (median reported)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None, help="torch/ORT threads for all paths (default: torch's)")
    p.add_argument("--limit", type=int, default=None, help="encode only the first N short sentences")
    p.add_argument("--long-count", type=int, default=200, help="number of 256-token paragraphs")
    p.add_argument("--latency-calls", type=int, default=300, help="similarity(a, b) calls per path")
    p.add_argument("--spearman-limit", type=int, default=None, help="STS-B test pairs for Spearman (default all)")
    p.add_argument("--quora-limit", type=int, default=None, help="Quora test pairs for the caching gain (default all)")
    p.add_argument("--quora-runs", type=int, default=3)
    p.add_argument("--paths", nargs="+", default=all_paths, choices=all_paths)
    p.add_argument("--skip", nargs="*", default=[], choices=["long", "latency", "spearman", "quora"])
    p.add_argument("--quick", action="store_true", help="small smoke run: few texts, 2 runs")
    args = p.parse_args()
    if args.quick:
        args.runs = min(args.runs, 2)
        args.limit = args.limit or 600
        args.long_count = min(args.long_count, 16)
        args.latency_calls = min(args.latency_calls, 40)
        args.spearman_limit = args.spearman_limit or 300
        args.quora_limit = args.quora_limit or 400
        args.quora_runs = 1
    args.data_dir = resolve_data_dir(args.data_dir)

    warnings.filterwarnings("ignore")
    configure(logging.WARNING)
    import numpy as np
    import torch

    from textsiam.model.loading import default_model_path

    if args.threads:
        torch.set_num_threads(args.threads)
    short = stsb_sentences(args.data_dir)[: args.limit]
    model_path = str(default_model_path())
    notes: dict[str, str] = {}
    paths = build_paths(args, model_path, notes)
    by_name = {p.name: p for p in paths}
    tokenizer = paths[0].model.tokenizer
    long = long_paragraphs(stsb_sentences(args.data_dir), tokenizer, args.long_count)

    # warm-up, and how far each path is from the exact torch fp32 embeddings
    probe = short[:256]
    ref = by_name["textsiam-fp32"].encode(probe, args.batch_size) if "textsiam-fp32" in by_name else None
    diffs: dict[str, dict[str, float]] = {}
    for path in paths:
        e = path.encode(probe, args.batch_size)
        if ref is not None:
            cos = (e * ref).sum(1) / np.linalg.norm(e, axis=1) / np.linalg.norm(ref, axis=1)
            diffs[path.name] = {
                "max_abs_diff": float(np.abs(e - ref).max()),
                "min_cosine": float(cos.min()),
                "mean_cosine": float(cos.mean()),
            }

    workloads = {"short": short} if "long" in args.skip else {"short": short, "long": long}
    times: dict[str, dict[str, list[float]]] = {}
    rates: dict[str, dict[str, float]] = {}
    for wl, texts in workloads.items():
        times[wl] = time_alternating(paths, texts, args.batch_size, args.runs, wl)
        rates[wl] = {k: len(texts) / v for k, v in medians(times[wl]).items()}

    lat = {}
    if "latency" not in args.skip:
        from textsiam.data import load_pairs

        test = load_pairs("stsb", "test", data_dir=args.data_dir)
        pairs = list(zip(test["text_a"], test["text_b"], strict=True))[: args.latency_calls]
        lat = latency(paths, pairs)
    spear = {} if "spearman" in args.skip else spearman_of(paths, args.data_dir, args.spearman_limit)
    cache = {}
    if "quora" not in args.skip and "textsiam-fp32" in by_name:
        cache = caching_gain(
            by_name["textsiam-fp32"].model, args.data_dir, args.quora_limit, args.quora_runs, args.batch_size
        )

    # the original two-library figures (kept for continuity)
    st_rate = rates["short"].get("st-fp32")
    ts_rate = rates["short"].get("textsiam-fp32")
    ratio = ts_rate / st_rate if st_rate and ts_rate else None
    fastest = max(rates["short"], key=rates["short"].get) if rates["short"] else None
    payload = {
        "texts": len(short),
        "dataset": "STS-B train+dev+test unique sentences",
        "long_texts": len(long),
        "long_dataset": f"{LONG_TOKENS}-token paragraphs of consecutive STS-B sentences",
        "batch_size": args.batch_size,
        "runs": args.runs,
        "quick": args.quick,
        "precision": "fp32 (textsiam-fp32 vs st-fp32); see paths",
        "paths": [p.name for p in paths],
        "load_seconds": {p.name: p.load_s for p in paths},
        "notes": notes,
        "max_abs_embedding_diff": diffs.get("st-fp32", {}).get("max_abs_diff"),
        "embedding_agreement_vs_textsiam_fp32": diffs,
        "seconds": {
            "textsiam": times["short"].get("textsiam-fp32"),
            "sentence-transformers": times["short"].get("st-fp32"),
        },
        "sentences_per_second": {"textsiam": ts_rate, "sentence-transformers": st_rate},
        "ratio_textsiam_over_st": ratio,
        "workload_seconds": times,
        "texts_per_second": rates,
        "speedup_over_st_fp32": {
            wl: {k: v / r["st-fp32"] for k, v in r.items()} for wl, r in rates.items() if "st-fp32" in r
        },
        "fastest_short": fastest,
        "similarity_latency": lat,
        "stsb_test_spearman": spear,
        "quora_cache": cache,
    }
    body = render(payload)
    write_results(args.results_dir, "encode_speed", payload, body)
    print(body)


if __name__ == "__main__":
    main()
