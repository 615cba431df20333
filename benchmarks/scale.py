"""Scale: duplicate mining on Quora and on augmented corpora, and streaming pair scoring.

Every run uses the fastest CPU path, the embedded all-MiniLM-L6-v2 exported once to ONNX with int8 weights
(``SiameseModel.from_pretrained(None, backend="onnx", quantize="int8")``, saved and reloaded so the export is not
timed). Each mining run and each scoring run is a fresh subprocess, so its wall time and peak RSS (``VmHWM``
from ``/proc``: the high-water mark of its resident memory, file-backed pages included; ``getrusage`` would also
count the forking parent) are its own. Parts (``--parts``, comma-separated, default all):

* ``quora``: ``mine_duplicates`` over the unique questions of both BiMPM files in ``$TEXTSIAM_DATA/quora``
  (train + dev + test of the loader, 36,737 questions; exact search). Reports encode / index / search wall time,
  peak RSS, and how many of the 10,000 labelled duplicate pairs (``is_duplicate = 1``) are among the top-k
  neighbours and among the mined pairs at the threshold (plus a threshold sweep), and how many labelled
  non-duplicates are mined.
* ``scaling``: corpora of ``--sizes`` lines (default 100k and 250k) made from the unique Quora questions: the
  questions themselves, then deterministic word deletions / swaps of them (``textsiam.training.TextAugmenter``,
  a different draw per round). Mined with ``index="auto"`` (HNSW from 100k lines). Reports the stage times, peak
  RSS, recall@10 of the index against exact search over the same stored embeddings on ``--recall-queries``
  random queries, and a linear projection of time and peak RSS to 1M lines. The stored embeddings are then
  indexed and searched again with ``--compare-index`` (default IVF), without encoding, for comparison.
* ``score``: ``textsiam score --pairs FILE --output OUT`` as a subprocess on generated files of ``--score-pairs``
  pairs (default 100k and 1M; the labelled Quora pairs, then augmented copies of them). Reports pairs/s (wall
  time of the whole command, model load included) and peak RSS: flat RSS across sizes shows it streams.

    python benchmarks/scale.py                                  # the full run: about 1.75 h on a quiet 2-core CPU
    python benchmarks/scale.py --smoke                          # tiny sizes: a check that everything runs
    python benchmarks/scale.py --parts quora,scaling --sizes 100000,250000
    python benchmarks/scale.py --parts score --score-pairs 1000000 --merge   # redo one part, keep the rest

Mining stores embeddings and index vectors in ``--precision`` (default int8: ``D`` bytes a text, half of
float16's memory; scores are still the cosine of the stored vectors). ``--merge`` keeps the parts and sizes of the
existing ``results/scale.json`` that this invocation does not redo, and lists every invocation in the report.

Writes benchmarks/results/scale.{json,md}. Run it with nothing else heavy on the machine. Its length is set by
encoding, about 2.6M texts in all (387k mined, 2.2M scored): at the ~580 texts/s of the int8 path on a quiet
machine (benchmarks/results/encode_speed.md) about 75 min of encoding plus 20-30 min of indexing and searching;
at the 160-200 texts/s measured with other jobs on the machine, 4-5 hours.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _common import RESULTS, command, write_results  # noqa: E402

PARTS = ("quora", "scaling", "score")
THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
ONE_MILLION = 1_000_000
HALF_HOUR_S = 1800.0


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


def augmented(texts: list[str], n: int, seed: int = 0):  # noqa: ANN201 - a generator of str
    """``n`` lines: ``texts``, then round r = 1, 2, ... of augmented copies (odd rounds delete, even swap words)."""
    from textsiam.training.augment import TextAugmenter

    delete = TextAugmenter("delete", prob=0.15, seed=seed)
    swap = TextAugmenter("swap", prob=0.15, seed=seed)
    for k in range(n):
        r, t = divmod(k, len(texts))
        base = texts[t]
        yield base if r == 0 else (delete if r % 2 else swap)(base, epoch=r)


def write_lines(path: Path, lines) -> int:  # noqa: ANN001
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line.replace("\n", " ") + "\n")
            n += 1
    return n


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


def run_process(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` with stdout/stderr to ``log``; its wall time, CPU time and peak RSS (``VmHWM``, polled)."""
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    peak = 0.0
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
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
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(corpus), str(out)]
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

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
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

        def lines():  # noqa: ANN202 - read lazily, one line at a time
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
def exact_topk(stats: dict[str, Any], queries, k: int):  # noqa: ANN001, ANN201
    """Exact top-``k`` (self excluded) of ``queries`` by brute force over the stored embeddings of a run."""
    import numpy as np

    n, dim = stats["n_texts"], stats["dim"]
    emb = np.memmap(stats["embeddings_file"], dtype=stats["precision"], mode="r", shape=(n, dim))

    def unit(x):  # noqa: ANN001, ANN202
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


def recall_at(neighbours, queries, exact) -> float:  # noqa: ANN001
    """Share of the exact top-k of each query that ``neighbours`` holds."""
    import numpy as np

    k = exact.shape[1]
    hits = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(neighbours[queries][:, :k], exact, strict=True)]
    return float(np.mean(hits) / k)


def quora_recovery(res: dict[str, Any], questions: list[str], labelled: list[tuple[str, str, int]], args) -> dict:  # noqa: ANN001
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


def linear_fit(xs: list[float], ys: list[float], at: float) -> float | None:
    """Least-squares line through ``(xs, ys)`` evaluated at ``at`` (None with fewer than two points)."""
    import numpy as np

    if len(xs) < 2:
        return None
    slope, intercept = np.polyfit(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), 1)
    return float(slope * at + intercept)


# ---------------------------------------------------------------------------------------------- parts
def part_quora(args, work: Path, model_dir: Path, questions, labelled) -> dict[str, Any]:  # noqa: ANN001
    if args.quora_limit:
        questions = questions[: args.quora_limit]
    corpus = work / "quora_questions.txt"
    write_lines(corpus, questions)
    print(f"[quora] mining {len(questions)} unique questions", flush=True)
    res = mine(args, corpus, work / "quora", model_dir, keep_embeddings=False)
    out = {"texts": len(questions), "process": res["process"], "stats": res["stats"]}
    out["recovery"] = quora_recovery(res, questions, labelled, args)
    rec = out["recovery"]
    print(
        f"[quora] {res['stats']['n_texts']} texts: encode {res['stats']['encode_s']:.1f}s, "
        f"index {res['stats']['index_s']:.1f}s, search {res['stats']['search_s']:.1f}s, wall "
        f"{res['process']['wall_s']:.1f}s, peak RSS {res['process']['peak_rss_mb']:.0f} MB; duplicates in top-"
        f"{args.top_k}: {rec['duplicates_in_top_k']}/{rec['labelled_duplicate_pairs']}, at >= {args.threshold}: "
        f"{rec['duplicates_at_threshold']}",
        flush=True,
    )
    return out


def part_scaling(args, work: Path, model_dir: Path, questions) -> dict[str, Any]:  # noqa: ANN001
    import numpy as np

    runs = []
    for size in args.sizes:
        corpus = work / f"corpus_{size}.txt"
        write_lines(corpus, augmented(questions, size))
        with open(corpus, encoding="utf-8") as fh:
            unique = len({hash(line) for line in fh})
        print(f"[scaling] mining {size} lines ({unique} distinct)", flush=True)
        res = mine(args, corpus, work / f"scaling_{size}", model_dir, keep_embeddings=True)
        corpus.unlink()
        rng = np.random.default_rng(0)
        queries = np.sort(rng.choice(size, size=min(args.recall_queries, size), replace=False))
        t0 = time.perf_counter()
        exact = exact_topk(res["stats"], queries, min(10, args.top_k))
        exact_s = time.perf_counter() - t0
        recall = recall_at(res["arrays"]["neighbours"], queries, exact)
        st = res["stats"]
        run = {
            "lines": size,
            "distinct_lines": unique,
            "process": res["process"],
            "stats": st,
            "recall_at_10": recall,
            "recall_queries": len(queries),
            "exact_search_s_for_recall_queries": exact_s,
            "other_indexes": {},
        }
        print(
            f"[scaling] {size}: {st['index_factory']}: encode {st['encode_s']:.1f}s "
            f"({st['encode_texts_per_s']:.0f}/s), index {st['index_s']:.1f}s, search {st['search_s']:.1f}s, wall "
            f"{res['process']['wall_s']:.1f}s, peak RSS {res['process']['peak_rss_mb']:.0f} MB, recall@10 {recall:.4f}",
            flush=True,
        )
        for other in args.compare_index:
            emb_file = Path(st["embeddings_file"])
            alt = mine(args, emb_file, work / f"scaling_{size}_{other}", None, False, index=other, embeddings=st)
            run["other_indexes"][other] = {
                "process": alt["process"],
                "stats": alt["stats"],
                "recall_at_10": recall_at(alt["arrays"]["neighbours"], queries, exact),
            }
            a = run["other_indexes"][other]
            print(
                f"[scaling] {size} with {alt['stats']['index_factory']} (nprobe {alt['stats']['nprobe']}): index "
                f"{alt['stats']['index_s']:.1f}s, search {alt['stats']['search_s']:.1f}s, recall@10 "
                f"{a['recall_at_10']:.4f}",
                flush=True,
            )
        Path(st["embeddings_file"]).unlink()
        runs.append(run)
    return scaling_summary(runs)


def scaling_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The scaling runs (sorted by size) and their projection to 1M lines."""
    runs = sorted(runs, key=lambda r: r["lines"])
    # times: the per-line rate of the largest run, times 1M; memory: a line (fixed part + per line) through all runs
    largest = max(runs, key=lambda r: r["lines"]) if runs else None
    proj: dict[str, float | None] = {}
    for key in ("encode_s", "index_s", "search_s"):
        proj[key] = None if largest is None else largest["stats"][key] * ONE_MILLION / largest["lines"]
    proj["wall_s"] = None if largest is None else largest["process"]["wall_s"] * ONE_MILLION / largest["lines"]
    xs = [r["lines"] for r in runs]
    proj["peak_rss_mb"] = linear_fit(xs, [r["process"]["peak_rss_mb"] for r in runs], ONE_MILLION)
    if largest is not None:
        # the largest run's peak plus what grows per line: index vectors, HNSW links / IVF ids, neighbour arrays
        st = largest["stats"]
        per_line = st["embeddings_bytes"] / st["n_texts"] + 12 * st["top_k"]
        per_line += 8 * st["hnsw_m"] + 16 if st.get("hnsw_m") else 8 if st.get("nlist") else 0
        extra = (ONE_MILLION - largest["lines"]) * per_line / 2**20
        proj["peak_rss_mb_from_sizes"] = largest["process"]["peak_rss_mb"] + extra
        proj["bytes_per_line"] = per_line
    over = None if proj["wall_s"] is None else proj["wall_s"] > HALF_HOUR_S
    return {"runs": runs, "projection_1m": proj, "projected_1m_over_30_min": over}


def merge_previous(payload: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the parts and runs of an earlier ``scale.json`` that this invocation did not redo.

    Quora: the new result if there is one. Scaling and score: runs keyed by size, a new run replacing an old one of
    the same size; the 1M projection is recomputed over the merged scaling runs. Every invocation's date, command
    and load stay listed in ``invocations``.
    """
    out = dict(payload)
    earlier = previous.get("invocations") or [
        {k: previous.get(k) for k in ("date", "command", "parts", "loadavg_start", "loadavg_end", "total_s")}
    ]
    out["invocations"] = [*earlier, *payload.get("invocations", [])]
    if "quora" not in out and previous.get("quora"):
        out["quora"] = previous["quora"]

    def runs(part: str, size: str) -> list[dict[str, Any]]:  # earlier and new runs of a part, new ones winning
        merged = {r[size]: r for part_runs in (previous, out) for r in part_runs.get(part, {}).get("runs", [])}
        return sorted(merged.values(), key=lambda r: r[size])

    if previous.get("scaling"):
        out["scaling"] = scaling_summary(runs("scaling", "lines"))
    if previous.get("score"):
        out["score"] = {"runs": runs("score", "pairs")}
    out["parts"] = [p for p in PARTS if p in out]
    return out


def pair_lines(labelled: list[tuple[str, str, int]], n: int, seed: int = 0):  # noqa: ANN201 - generator of str
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


def part_score(args, work: Path, model_dir: Path, labelled) -> dict[str, Any]:  # noqa: ANN001
    runs = []
    for size in args.score_pairs:
        pairs = work / f"pairs_{size}.tsv"
        out = work / f"scores_{size}.tsv"
        write_lines(pairs, pair_lines(labelled, size))
        cmd = [sys.executable, "-m", "textsiam", "score", "--pairs", str(pairs), "--output", str(out)]
        cmd += ["--model", str(model_dir), "--batch-size", str(args.batch_size)]
        print(f"[score] {shlex.join(['textsiam', *cmd[3:]])}", flush=True)
        proc = run_process(cmd, work / f"score_{size}.log")
        with open(out, encoding="utf-8") as fh:
            rows = sum(1 for _ in fh) - 1
        if rows != size:
            raise RuntimeError(f"textsiam score wrote {rows} rows for {size} pairs")
        log_tail = (work / f"score_{size}.log").read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        bar = [line for line in log_tail.splitlines() if "Scoring" in line][-1:]
        run = {
            "pairs": size,
            "command": shlex.join(["textsiam", *cmd[3:]]),
            "process": proc,
            "pairs_per_s": size / proc["wall_s"],
            "input_mb": pairs.stat().st_size / 2**20,
            "progress_bar_last_line": bar[0].strip() if bar else None,
        }
        runs.append(run)
        pairs.unlink()
        out.unlink()
        print(
            f"[score] {size} pairs: {proc['wall_s']:.1f}s, {run['pairs_per_s']:.0f} pairs/s, peak RSS "
            f"{proc['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    return {"runs": runs}


# ---------------------------------------------------------------------------------------------- report
def _search_setting(st: dict[str, Any]) -> str:
    if st.get("nprobe"):
        return f"nprobe {st['nprobe']}"
    if st.get("ef_search"):
        return f"efSearch {st['ef_search']}"
    return "exact"


def _load(pr: dict[str, Any]) -> str:
    return f"{pr['loadavg_1min_start']:.1f} / {pr['loadavg_1min_end']:.1f}"


def markdown(payload: dict[str, Any], args: argparse.Namespace) -> str:
    md: list[str] = []
    md.append(
        f"Model: the embedded all-MiniLM-L6-v2, ONNX Runtime with int8 weights (export {payload['export_s']:.1f}s, "
        f"not counted below). Mining: top-k {args.top_k}, threshold {args.threshold}, "
        f"index {args.index} (exact below {args.max_exact:,} texts), batch {args.batch_size}. Every run is its own "
        "process; peak RSS is that process's high-water mark (`VmHWM`). *load*: the machine's 1-minute load average "
        "at the start / end of the run (2 CPUs: above 2, other work competed for them and the times are slower)."
        + (" **--smoke run: tiny sizes, figures are not representative.**" if args.smoke else "")
        + "\n"
    )
    q = payload.get("quora")
    if q:
        st, pr, rec = q["stats"], q["process"], q["recovery"]
        md += [
            "## Quora: unique questions of both BiMPM files\n",
            "| texts | precision | index | encode s | texts/s | index s | search s | wall s | peak RSS MB "
            "| pairs >= threshold | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {st['n_texts']:,} | {st['precision']} | {st['index_factory']} | {st['encode_s']:.1f} | "
            f"{st['encode_texts_per_s']:.0f} | "
            f"{st['index_s']:.1f} | {st['search_s']:.1f} | {pr['wall_s']:.1f} | {pr['peak_rss_mb']:.0f} | "
            f"{st['n_pairs']:,} | {_load(pr)} |",
            "",
            f"Labelled duplicate pairs (is_duplicate = 1): **{rec['labelled_duplicate_pairs']:,}**; in the top-"
            f"{args.top_k} neighbours of one of their questions: **{rec['duplicates_in_top_k']:,}** "
            f"({rec['duplicates_in_top_k'] / max(rec['labelled_duplicate_pairs'], 1):.1%}); mined at score >= "
            f"{args.threshold}: **{rec['duplicates_at_threshold']:,}** "
            f"({rec['duplicates_at_threshold'] / max(rec['labelled_duplicate_pairs'], 1):.1%}). Labelled "
            f"non-duplicates ({rec['labelled_non_duplicate_pairs']:,}, hard negatives by construction) mined at "
            f"the threshold: {rec['non_duplicates_at_threshold']:,}.\n",
            "| threshold | labelled duplicates recovered | labelled non-duplicates mined |",
            "|---|---|---|",
        ]
        for t, v in rec["threshold_sweep"].items():
            md.append(f"| {t} | {v['duplicates_recovered']:,} | {v['non_duplicates_mined']:,} |")
        md.append("")
    s = payload.get("scaling")
    if s:
        md += [
            "## Scaling: Quora questions plus augmented copies\n",
            "| lines | distinct | precision | index | search setting | encode s | texts/s | index s | search s "
            "| wall s | peak RSS MB | recall@10 vs exact | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["runs"]:
            st, pr = r["stats"], r["process"]
            md.append(
                f"| {r['lines']:,} | {r['distinct_lines']:,} | {st['precision']} | {st['index_factory']} | "
                f"{_search_setting(st)} | "
                f"{st['encode_s']:.1f} | {st['encode_texts_per_s']:.0f} | {st['index_s']:.1f} | {st['search_s']:.1f} "
                f"| {pr['wall_s']:.1f} | {pr['peak_rss_mb']:.0f} | {r['recall_at_10']:.4f} | {_load(pr)} |"
            )
        others = [(r, name, o) for r in s["runs"] for name, o in r.get("other_indexes", {}).items()]
        if others:
            md += [
                "\nThe same stored embeddings, indexed and searched again with another index (no encoding; "
                "`mine_embeddings`, its own process):\n",
                "| lines | index | search setting | index s | search s | wall s | peak RSS MB | recall@10 vs exact "
                "| load |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for r, _, o in others:
                st, pr = o["stats"], o["process"]
                md.append(
                    f"| {r['lines']:,} | {st['index_factory']} | {_search_setting(st)} | {st['index_s']:.1f} | "
                    f"{st['search_s']:.1f} | {pr['wall_s']:.1f} | {pr['peak_rss_mb']:.0f} | {o['recall_at_10']:.4f} "
                    f"| {_load(pr)} |"
                )
        p = s["projection_1m"]
        if p["wall_s"] is not None:
            rss = "-" if p["peak_rss_mb"] is None else f"{p['peak_rss_mb']:.0f} MB"
            rss += (
                f"; the largest run's peak plus {p['bytes_per_line']:.0f} bytes per further line (index vectors "
                f"and links, neighbour arrays): {p['peak_rss_mb_from_sizes']:.0f} MB"
            )
            md.append(
                f"\nLinear projection to 1M lines (each stage at the per-line rate of the largest run): encode "
                f"{p['encode_s']:.0f}s, index {p['index_s']:.0f}s, search {p['search_s']:.0f}s, wall "
                f"**{p['wall_s']:.0f}s ({p['wall_s'] / 60:.1f} min)**; peak RSS (a line through all runs) {rss}. "
                "1M lines would "
                + ("**exceed**" if s["projected_1m_over_30_min"] else "stay within")
                + " 30 minutes on this machine. Search work per query grows with N for IVF (nlist = 4 sqrt(N)) and "
                "with log N for HNSW, so the search projection is a lower bound; encoding is linear."
            )
        md.append(
            f"\nrecall@10: share of the exact top-10 (brute force over the same stored "
            f"embeddings, {s['runs'][0]['recall_queries'] if s['runs'] else 0} random queries) that the index "
            "returned.\n"
        )
    sc = payload.get("score")
    if sc:
        md += [
            "## Streaming pair scoring: `textsiam score --pairs`\n",
            "| pairs | input MB | wall s | pairs/s | peak RSS MB | load |",
            "|---|---|---|---|---|---|",
        ]
        for r in sc["runs"]:
            pr = r["process"]
            md.append(
                f"| {r['pairs']:,} | {r['input_mb']:.1f} | {pr['wall_s']:.1f} | {r['pairs_per_s']:.0f} | "
                f"{pr['peak_rss_mb']:.0f} | {_load(pr)} |"
            )
        if sc["runs"]:
            md.append(
                f"\nCommand: `{sc['runs'][-1]['command']}` (wall time includes loading the model; the last line of "
                f"its progress bar: `{sc['runs'][-1]['progress_bar_last_line']}`)."
            )
    inv = payload.get("invocations", [])
    if len(inv) > 1:
        md += [
            "\n## Invocations merged into this file (`--merge`)\n",
            "| date | parts | load | command |",
            "|---|---|---|---|",
        ]
        for i in inv:
            la, lb = (i.get("loadavg_start") or [0])[0], (i.get("loadavg_end") or [0])[0]
            md.append(f"| {i['date']} | {', '.join(i.get('parts') or [])} | {la:.1f} / {lb:.1f} | `{i['command']}` |")
    return "\n".join(md)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: quora,scaling,score")
    p.add_argument("--data-dir", default=None, help="default: $TEXTSIAM_DATA")
    p.add_argument("--sizes", default="100000,250000", help="scaling corpus sizes (lines)")
    p.add_argument("--score-pairs", default="100000,1000000", help="pair-file sizes for textsiam score")
    p.add_argument("--quora-limit", type=int, default=None, help="mine only the first N unique questions")
    p.add_argument("--recall-queries", type=int, default=1000)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument(
        "--precision", default="int8", choices=["float16", "int8", "float32"], help="stored embeddings and index"
    )
    p.add_argument("--index", default="auto", choices=["auto", "flat", "ivf", "hnsw"])
    p.add_argument("--max-exact", type=int, default=100_000)
    p.add_argument("--nprobe", type=int, default=None)
    p.add_argument(
        "--compare-index", default="ivf", help="scaling: also index the stored embeddings with these (comma list, '')"
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--work-dir", default=None, help="scratch folder (default: a temporary one, removed)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every part runs")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the parts and sizes of the existing results/scale.json that this run does not redo",
    )
    p.add_argument("--worker", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    p.add_argument("--worker-model", help=argparse.SUPPRESS)
    p.add_argument("--worker-shape", help=argparse.SUPPRESS)
    p.add_argument("--keep-embeddings", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = sorted(set(parts) - set(PARTS))
    if bad:
        p.error(f"unknown parts {bad}; choose from {list(PARTS)}")
    if args.smoke:
        args.quora_limit = args.quora_limit or 1500
        args.sizes = "2000,4000"
        args.score_pairs = "1000,3000"
        args.recall_queries = min(args.recall_queries, 200)
        args.max_exact = min(args.max_exact, 1600)  # so the smoke scaling runs take the approximate-index path
    args.sizes = [int(x) for x in str(args.sizes).split(",") if x]
    args.score_pairs = [int(x) for x in str(args.score_pairs).split(",") if x]
    args.compare_index = [x.strip() for x in args.compare_index.split(",") if x.strip()]
    args.data_dir = args.data_dir or os.environ.get("TEXTSIAM_DATA")
    logging.basicConfig(level=logging.WARNING)

    from textsiam import SiameseModel

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="textsiam-scale-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        model_dir = work / "minilm-onnx-int8"
        t0 = time.perf_counter()
        SiameseModel.from_pretrained(None, backend="onnx", quantize="int8").save(model_dir)
        export_s = time.perf_counter() - t0
        questions, labelled = quora_questions(args.data_dir)
        payload: dict[str, Any] = {
            "parts": parts,
            "smoke": args.smoke,
            "model": "all-MiniLM-L6-v2 (embedded), backend=onnx, quantize=int8",
            "export_s": export_s,
            "settings": {
                "top_k": args.top_k,
                "threshold": args.threshold,
                "precision": args.precision,
                "index": args.index,
                "max_exact": args.max_exact,
                "nprobe": args.nprobe,
                "batch_size": args.batch_size,
                "sizes": args.sizes,
                "score_pairs": args.score_pairs,
                "recall_queries": args.recall_queries,
                "compare_index": args.compare_index,
                "quora_limit": args.quora_limit,
            },
            "unique_quora_questions": len(questions),
            "loadavg_start": os.getloadavg(),
        }
        if "quora" in parts:
            payload["quora"] = part_quora(args, work, model_dir, questions, labelled)
        if "scaling" in parts:
            payload["scaling"] = part_scaling(args, work, model_dir, questions)
        if "score" in parts:
            payload["score"] = part_score(args, work, model_dir, labelled)
        payload["loadavg_end"] = os.getloadavg()
        payload["total_s"] = time.perf_counter() - t_start
    payload["invocations"] = [
        {
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command(),
            "parts": parts,
            "loadavg_start": payload["loadavg_start"],
            "loadavg_end": payload["loadavg_end"],
            "total_s": payload["total_s"],
        }
    ]
    previous_file = RESULTS / "scale.json"
    if args.merge and previous_file.is_file() and not args.smoke:
        payload = merge_previous(payload, json.loads(previous_file.read_text(encoding="utf-8")))
    md = markdown(payload, args)
    j, m = write_results("scale", payload, md)
    print(md)
    print(f"wrote {j} and {m} ({payload['total_s']:.0f}s in all)")


if __name__ == "__main__":
    main()
