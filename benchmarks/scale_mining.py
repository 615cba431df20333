"""The measuring machinery of ``benchmarks.scale``: generated corpora, subprocesses, the mining worker, measures.

Each mining run is a subprocess (``python -m benchmarks.scale --worker ...``, run by :func:`mine`; its body is
:func:`worker`), so that its wall time and peak RSS (``VmHWM``) are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: the module whose ``--worker`` mode mines in a subprocess
WORKER_MODULE = "benchmarks.scale"
#: thresholds of the Quora recovery sweep
THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


# ---------------------------------------------------------------------------------------------- data
def quora_questions(data_dir: str | None) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Unique questions of both BiMPM files (first-seen order) and every labelled pair."""
    from textsiam.data import load_pairs

    seen: dict[str, None] = {}
    pairs: list[tuple[str, str, int]] = []
    for split in ("train", "dev", "test"):  # the loader's three splits cover dev.tsv and test.tsv exactly once
        ds = load_pairs("quora", split, data_dir=data_dir)
        for a, b, label in zip(ds["text_a"], ds["text_b"], ds["label"], strict=True):
            seen.setdefault(a, None)
            seen.setdefault(b, None)
            pairs.append((a, b, int(label)))
    return list(seen), pairs


def augmented(texts: list[str], n: int, seed: int = 0) -> Iterator[str]:
    """``n`` lines: ``texts``, then round r = 1, 2, ... of augmented copies (odd rounds delete, even swap words)."""
    from textsiam.training.augment import TextAugmenter

    delete = TextAugmenter("delete", prob=0.15, seed=seed)
    swap = TextAugmenter("swap", prob=0.15, seed=seed)
    for k in range(n):
        r, t = divmod(k, len(texts))
        base = texts[t]
        yield base if r == 0 else (delete if r % 2 else swap)(base, epoch=r)


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write one text a line (newlines inside a text become spaces); the number of lines written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line.replace("\n", " ") + "\n")
            n += 1
    return n


def pair_lines(labelled: list[tuple[str, str, int]], n: int, seed: int = 0) -> Iterator[str]:
    """``n`` TSV lines ``text_a<TAB>text_b``: the labelled Quora pairs, then augmented copies of them."""
    from textsiam.training.augment import TextAugmenter

    delete = TextAugmenter("delete", prob=0.15, seed=seed)
    swap = TextAugmenter("swap", prob=0.15, seed=seed)
    for k in range(n):
        r, t = divmod(k, len(labelled))
        a, b, _ = labelled[t]
        if r:
            aug = delete if r % 2 else swap
            a, b = aug(a, epoch=r, slot=0), aug(b, epoch=r, slot=1)
        yield f"{a.replace(chr(9), ' ')}\t{b.replace(chr(9), ' ')}"


# ---------------------------------------------------------------------------------------------- subprocesses
def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory (``VmHWM``) of a live process in MB, from ``/proc``; None if it cannot be read.

    Unlike ``getrusage``'s ``ru_maxrss``, which keeps the high-water mark of the process image replaced by
    ``exec`` (here: the forking benchmark itself), ``VmHWM`` belongs to the running program alone.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError):
        return None
    return None


def run_process(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` (in ``env``, default this process's) with stdout/stderr to ``log``; its wall time, CPU time and
    peak RSS (``VmHWM``, polled)."""
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    peak = 0.0
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, vm_hwm_mb(proc.pid) or 0.0)
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return {
        "wall_s": wall,
        "peak_rss_mb": peak,  # VmHWM, read every 0.1 s while it ran
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "loadavg_1min_start": load0,
        "loadavg_1min_end": os.getloadavg()[0],
    }


def mine(
    args: argparse.Namespace,
    corpus: Path,
    out: Path,
    model_dir: Path | None,
    keep_embeddings: bool,
    index: str | None = None,
    embeddings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mine in a worker subprocess (the lines of ``corpus``, or stored ``embeddings``); its stats and arrays."""
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", WORKER_MODULE, "--worker", str(corpus), str(out)]
    cmd += ["--top-k", str(args.top_k), "--threshold", str(args.threshold), "--precision", args.precision]
    cmd += ["--index", index or args.index, "--max-exact", str(args.max_exact), "--batch-size", str(args.batch_size)]
    if model_dir is not None:
        cmd += ["--worker-model", str(model_dir)]
    if embeddings is not None:  # corpus is the embeddings file of an earlier run: (n, dim) rows of `precision`
        cmd += ["--worker-shape", f"{embeddings['n_texts']},{embeddings['dim']}"]
    if args.nprobe:
        cmd += ["--nprobe", str(args.nprobe)]
    if keep_embeddings:
        cmd += ["--keep-embeddings"]
    proc = run_process(cmd, out / "worker.log")
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    proc["peak_rss_mb"] = max(proc["peak_rss_mb"], stats.get("peak_rss_mb") or 0.0)  # the worker's own, at its end
    arrays = dict(np.load(out / "result.npz"))
    return {"process": proc, "stats": stats, "arrays": arrays}


def worker(args: argparse.Namespace) -> None:
    """Subprocess body: ``mine_duplicates`` over the lines of a file (or ``mine_embeddings`` over stored ones)."""
    import numpy as np

    from textsiam import SiameseModel, mine_duplicates
    from textsiam.mining import mine_embeddings

    corpus, out = Path(args.worker[0]), Path(args.worker[1])
    common = {
        "threshold": args.threshold,
        "top_k": args.top_k,
        "index": args.index,
        "precision": args.precision,
        "max_exact": args.max_exact,
        "nprobe": args.nprobe,
        "work_dir": out / "work" if args.keep_embeddings else None,
        "show_progress_bar": True,
    }
    load_s = 0.0
    if args.worker_shape:  # index and search only, over the embeddings of an earlier run
        n, dim = (int(x) for x in args.worker_shape.split(","))
        emb = np.memmap(corpus, dtype=args.precision, mode="r", shape=(n, dim))
        rss_after_load = vm_hwm_mb()
        result = mine_embeddings(emb, **common)
    else:
        t0 = time.perf_counter()
        model = SiameseModel.from_pretrained(args.worker_model)
        load_s = time.perf_counter() - t0
        rss_after_load = vm_hwm_mb()

        def lines() -> Iterator[str]:  # read lazily, one line at a time
            with open(corpus, encoding="utf-8") as fh:
                for line in fh:
                    yield line.rstrip("\n")

        result = mine_duplicates(lines(), model, batch_size=args.batch_size, **common)
    stats = dict(result.stats)
    stats.update(
        model_load_s=load_s,
        peak_rss_mb_after_load=rss_after_load,
        peak_rss_mb=vm_hwm_mb(),
        encode_texts_per_s=stats["n_texts"] / max(stats["encode_s"], 1e-9),
    )
    np.savez(
        out / "result.npz",
        pairs=result.pairs,
        scores=result.scores,
        neighbours=result.neighbours,
        neighbour_scores=result.neighbour_scores,
    )
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- measures
def exact_topk(stats: dict[str, Any], queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` (self excluded) of ``queries`` by brute force over the stored embeddings of a run."""
    import numpy as np

    n, dim = stats["n_texts"], stats["dim"]
    emb = np.memmap(stats["embeddings_file"], dtype=stats["precision"], mode="r", shape=(n, dim))

    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    q = unit(emb[queries])
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_idx = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, n, 50_000):
        block = unit(emb[start : start + 50_000])
        sim = q @ block.T  # (Q, c)
        rows = np.arange(len(queries))
        own = (queries >= start) & (queries < start + len(block))
        sim[rows[own], queries[own] - start] = -np.inf  # not itself
        idx = np.concatenate([best_idx, np.broadcast_to(np.arange(start, start + len(block)), sim.shape)], axis=1)
        val = np.concatenate([best, sim], axis=1)
        top = np.argpartition(-val, k - 1, axis=1)[:, :k]
        best, best_idx = np.take_along_axis(val, top, axis=1), np.take_along_axis(idx, top, axis=1)
    del emb
    return best_idx


def recall_at(neighbours: np.ndarray, queries: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k of each query that ``neighbours`` holds."""
    import numpy as np

    k = exact.shape[1]
    hits = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(neighbours[queries][:, :k], exact, strict=True)]
    return float(np.mean(hits) / k)


def quora_recovery(res: dict[str, Any], questions: list[str], labelled: list[tuple[str, str, int]]) -> dict[str, Any]:
    """How many labelled (non-)duplicate pairs a Quora mining run has among its neighbours and mined pairs."""
    import numpy as np

    index = {t: i for i, t in enumerate(questions)}
    neighbours, scores = res["arrays"]["neighbours"], res["arrays"]["neighbour_scores"]
    n = len(questions)
    mined = {int(i) * n + int(j) for i, j in res["arrays"]["pairs"]}

    def found(pairs: set[tuple[int, int]]) -> tuple[int, int, list[float]]:
        in_topk, at_threshold, pair_scores = 0, 0, []
        for i, j in pairs:
            s = None
            for a, b in ((i, j), (j, i)):
                hit = np.nonzero(neighbours[a] == b)[0]
                if len(hit):
                    s = float(scores[a, hit[0]]) if s is None else max(s, float(scores[a, hit[0]]))
            if s is not None:
                in_topk += 1
                pair_scores.append(s)
            at_threshold += (i * n + j) in mined
        return in_topk, at_threshold, pair_scores

    def unordered(label: int) -> set[tuple[int, int]]:
        out = set()
        for a, b, lab in labelled:
            if lab == label and a != b and a in index and b in index:
                i, j = index[a], index[b]
                out.add((min(i, j), max(i, j)))
        return out

    dup, non = unordered(1), unordered(0)
    d_topk, d_thr, d_scores = found(dup)
    n_topk, n_thr, n_scores = found(non)
    sweep = {
        str(t): {
            "duplicates_recovered": int(sum(s >= t for s in d_scores)),
            "non_duplicates_mined": int(sum(s >= t for s in n_scores)),
        }
        for t in THRESHOLDS
    }
    return {
        "labelled_duplicate_pairs": len(dup),
        "duplicates_in_top_k": d_topk,
        "duplicates_at_threshold": d_thr,
        "labelled_non_duplicate_pairs": len(non),
        "non_duplicates_in_top_k": n_topk,
        "non_duplicates_at_threshold": n_thr,
        "threshold_sweep": sweep,
    }
