"""Fast towers (``textsiam distill``): students side by side with their teacher, sentence-transformers and model2vec.

One run, everything on the CPU. Contenders:

* ``teacher``: ``SiameseModel.from_pretrained(--teacher)`` (default: the embedded all-MiniLM-L6-v2);
* ``st-fp32``: ``SentenceTransformer(<the teacher's folder>, device="cpu")`` (float32; ``--no-st`` leaves it out);
* each ``--student NAME=DIR``: a folder written by ``textsiam distill`` (its ``distillation.json`` gives the tower
  kind, the corpus size and the teacher / training seconds);
* ``model2vec``: ``model2vec.distill.distill(model_name=<the teacher's folder>, device="cpu")`` with model2vec's
  defaults, distilled in this run (its wall time is its time to distil) and saved into ``--work-dir``
  (``--no-model2vec``, or model2vec not installed: the table says "not run"). model2vec is the peer, not a
  dependency of textsiam.

Measured for each:

1. **Zero-shot quality** on the test splits, nothing fitted on them: STS-B and SICK-R cosine Spearman ×100, MRPC and
   Quora cosine average precision ×100 (threshold-free), each with a 95% percentile bootstrap CI (``--n-resamples``
   resamples of the test pairs, seed 0). Every contender goes through the same evaluator
   (``benchmarks.common.evaluate_on``; model2vec through a small adapter with the ``encode`` signature the
   evaluators call, float32 output). The evaluators give CIs for Spearman but not for AP: the AP CI resamples the
   test pairs' cosine scores of the very embeddings the evaluator computed (scikit-learn's
   ``average_precision_score`` on each resample, ``textsiam.evaluation.bootstrap.bootstrap_cis``).
2. **Speed**: sentences/s encoding the first ``--speed-texts`` unique sentences of STS-B test then dev (file order,
   sentence 1 then sentence 2 of each pair), batch ``--batch-size`` for every contender (model2vec's own
   ``batch_size`` set to it), one warm-up encode each, ``--runs`` runs alternating between the contenders (the order
   flips every run); the median, and its ratio to ``st-fp32`` and to the teacher. Torch threads: ``--threads``
   (default: torch's own setting, recorded); the Rust tokenizers' thread settings (``RAYON_NUM_THREADS``,
   ``TOKENIZERS_PARALLELISM``) are recorded too.
3. **Size and start-up**: bytes of the model folder, load time (median of ``--load-runs`` in-process loads after one
   warm-up load), time to distil, embedding dimension and parameter count.

The "Goals" paragraph checks the issue's targets against the figures: a static student ≥ 10,000 sentences/s with
STS-B ρ ≥ 74 and ≥ model2vec's + 8; a CNN / LSTM student ≥ 20× sentence-transformers fp32 with STS-B ρ ≥ 78 and
SICK-R ρ ≥ 73.

    python -m benchmarks.distill --student static=/work/runs/s8/static --student cnn=/work/runs/s8/cnn -q
    python -m benchmarks.distill --smoke --student static=DIR --results-dir /tmp/trial    # seconds to minutes

Writes benchmarks/results/towers/distill.{json,md} (``--smoke`` writes distill_smoke.*).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import (
    alternating_times,
    benchmark_parser,
    configure,
    evaluate_on,
    markdown_table,
    medians,
    resolve_data_dir,
    value_ci,
    write_results,
)

logger = logging.getLogger("benchmarks.distill")

TEACHER, ST, MODEL2VEC = "teacher", "st-fp32", "model2vec"
#: (dataset, metric key of the evaluator's record, column label); all on the test split, cosine similarity
QUALITY = (
    ("stsb", "cosine_spearman", "STS-B ρ"),
    ("sick", "cosine_spearman", "SICK-R ρ"),
    ("mrpc", "cosine_ap", "MRPC AP"),
    ("quora", "cosine_ap", "Quora AP"),
)
#: the issue's targets
STATIC_MIN_SPS, STATIC_MIN_STSB, STATIC_MARGIN_OVER_M2V = 10_000.0, 74.0, 8.0
NEURAL_MIN_X_ST, NEURAL_MIN_STSB, NEURAL_MIN_SICK = 20.0, 78.0, 73.0
#: environment variables that set the thread pools of torch and of the Rust tokenizers
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS", "TOKENIZERS_PARALLELISM")


# ---------------------------------------------------------------------------------------------- contenders
@dataclass
class Contender:
    """One model in the comparison: how to load it, the loaded encoder and what is known about it."""

    name: str
    kind: str  # teacher | sentence-transformers | static | cnn | lstm | model2vec | ...
    path: Path
    load: Callable[[], Any]  # loads the model from ``path`` (timed for the load column)
    model: Any = None  # has encode(texts, batch_size=..., show_progress_bar=...) -> (N, D)
    dim: int | None = None
    params: int | None = None
    distil: dict[str, Any] | None = None  # time to distil and where the figure comes from
    info: dict[str, Any] = field(default_factory=dict)

    def encode(self, texts: list[str], batch_size: int) -> Any:
        return self.model.encode(texts, batch_size=batch_size, show_progress_bar=False)


class StaticModelAdapter:
    """A model2vec ``StaticModel`` with the ``encode`` signature textsiam's evaluators call; float32 output.

    ``batch_size`` is model2vec's own; multiprocessing is off (model2vec turns it on above 10,000 texts), so every
    contender encodes in one process.
    """

    similarity_fn_name = "cosine"

    def __init__(self, model: Any, name_or_path: str) -> None:
        self.model = model
        self.name_or_path = name_or_path

    def encode(
        self,
        texts: Any,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
        **kwargs: Any,
    ) -> Any:
        import numpy as np

        single = isinstance(texts, str)
        items = [texts] if single else [str(t) for t in texts]
        emb = self.model.encode(
            items, batch_size=batch_size, show_progress_bar=show_progress_bar, use_multiprocessing=False
        )
        emb = np.asarray(emb, dtype=np.float32)
        if normalize_embeddings:
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb[0] if single else emb


class RecordingModel:
    """Wraps a model and keeps the texts and embeddings of its last ``encode`` call (for the AP bootstrap)."""

    similarity_fn_name = "cosine"

    def __init__(self, model: Any, name_or_path: str) -> None:
        self.model = model
        self.name_or_path = name_or_path
        self.texts: list[str] = []
        self.embeddings: Any = None

    def encode(self, texts: Any, batch_size: int = 64, show_progress_bar: bool = False, **kwargs: Any) -> Any:
        import numpy as np

        emb = self.model.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar, **kwargs)
        if hasattr(emb, "detach"):
            emb = emb.detach().cpu().numpy()
        self.texts = [str(t) for t in texts]
        self.embeddings = np.asarray(emb, dtype=np.float32)
        return self.embeddings


def folder_bytes(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def torch_params(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def parse_student(spec: str) -> tuple[str, Path]:
    """``NAME=DIR`` of ``--student``."""
    name, sep, folder = spec.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise argparse.ArgumentTypeError(f"--student takes NAME=DIR, got {spec!r}")
    return name.strip(), Path(folder.strip()).expanduser()


def textsiam_contender(name: str, kind: str, path: Path) -> Contender:
    from textsiam import SiameseModel

    c = Contender(name, kind, path, lambda: SiameseModel.from_pretrained(str(path), device="cpu"))
    c.model = c.load()
    c.dim = int(c.model.embedding_dim)
    c.params = torch_params(c.model)
    return c


def student_contender(name: str, path: Path) -> Contender:
    """A ``textsiam distill`` output folder: the model, and the kind and timings of its ``distillation.json``."""
    from textsiam.training.distill import DISTILL_INFO_NAME

    info_path = path / DISTILL_INFO_NAME
    info: dict[str, Any] = {}
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
    else:
        logger.warning("%s: no %s in %s: kind and time to distil unknown", name, DISTILL_INFO_NAME, path)
    kind = str(info.get("config", {}).get("tower", "unknown"))
    c = textsiam_contender(name, kind, path)
    if info:
        teacher_s, train_s = float(info.get("teacher_seconds", 0.0)), float(info.get("train_seconds", 0.0))
        c.distil = {
            "seconds": teacher_s + train_s,
            "teacher_seconds": teacher_s,
            "train_seconds": train_s,
            "source": DISTILL_INFO_NAME,
        }
        c.info = {
            "teacher": info.get("teacher"),
            "n_texts": info.get("n_texts"),
            "config": info.get("config"),
            "textsiam_version": info.get("textsiam_version"),
        }
    return c


def st_contender(path: Path) -> Contender:
    from sentence_transformers import SentenceTransformer

    c = Contender(ST, "sentence-transformers", path, lambda: SentenceTransformer(str(path), device="cpu"))
    c.model = c.load()
    dim_fn = getattr(c.model, "get_embedding_dimension", None) or c.model.get_sentence_embedding_dimension
    c.dim = int(dim_fn())
    c.params = torch_params(c.model)
    return c


def model2vec_contender(teacher_path: Path, work_dir: Path) -> Contender:
    """model2vec distilled from the teacher's folder with its defaults (timed), saved to ``work_dir/model2vec``."""
    from model2vec import StaticModel
    from model2vec.distill import distill

    start = time.perf_counter()
    m = distill(model_name=str(teacher_path), device="cpu")
    seconds = time.perf_counter() - start
    out = work_dir / MODEL2VEC
    m.save_pretrained(str(out))
    logger.info("model2vec distilled in %.1fs, saved to %s", seconds, out)
    c = Contender(
        MODEL2VEC,
        MODEL2VEC,
        out,
        lambda: StaticModelAdapter(StaticModel.from_pretrained(str(out)), f"model2vec of {teacher_path}"),
    )
    c.model = c.load()
    static = c.model.model
    weights = getattr(static, "weights", None)
    c.dim = int(static.dim)
    c.params = int(static.embedding.size + (weights.size if weights is not None else 0))
    c.distil = {"seconds": seconds, "source": "measured in this run"}
    c.info = {"config": static.config, "embedding_dtype": str(static.embedding.dtype)}
    return c


# ---------------------------------------------------------------------------------------------- data
def speed_sentences(data_dir: str | None, limit: int | None) -> list[str]:
    """The unique sentences of STS-B test then dev, in file order (each pair's sentence 1, then its sentence 2)."""
    from textsiam.data import load_pairs

    seen: dict[str, None] = {}
    for split in ("test", "dev"):
        ds = load_pairs("stsb", split, data_dir=data_dir)
        for a, b in zip(ds["text_a"], ds["text_b"], strict=True):
            seen.setdefault(a, None)
            seen.setdefault(b, None)
    return list(seen)[: limit or None]


def eval_pairs(data_dir: str | None, limit: int | None) -> dict[str, dict[str, Any]]:
    """``{dataset: {"test": pairs, "dev": pairs or None}}``; with ``limit`` the first ``limit`` pairs of each.

    ``dev`` (MRPC and Quora, limited runs only) chooses the thresholds of the accuracy the record also holds;
    ``None`` lets the evaluator load the whole dev split.
    """
    from textsiam.data import load_pairs

    out: dict[str, dict[str, Any]] = {}
    for name, metric, _ in QUALITY:
        test = load_pairs(name, "test", data_dir)
        dev = None
        if limit:
            test = test.select(range(min(limit, len(test))))
            if metric.endswith("_ap"):
                dev = load_pairs(name, "dev", data_dir)
                dev = dev.select(range(min(limit, len(dev))))
        out[name] = {"test": test, "dev": dev}
    return out


# ---------------------------------------------------------------------------------------------- measuring
def ap_bootstrap(
    recorder: RecordingModel, pairs: Any, n_resamples: int, seed: int = 0
) -> tuple[float, float | None, float | None]:
    """``(AP, low, high)`` ×100 of the cosine scores of ``pairs`` from the embeddings ``recorder`` kept.

    The pairs are resampled with replacement ``n_resamples`` times (``numpy.random.default_rng(seed)``), scikit-learn's
    ``average_precision_score`` on each resample, 95% percentile interval; resamples with one class only are dropped.
    """
    import numpy as np
    from sklearn.metrics import average_precision_score

    from textsiam.evaluation.bootstrap import bootstrap_cis
    from textsiam.evaluation.encoding import pair_scores

    row_of = {t: i for i, t in enumerate(recorder.texts)}
    idx_a = np.array([row_of[str(t)] for t in pairs["text_a"]], dtype=np.int64)
    idx_b = np.array([row_of[str(t)] for t in pairs["text_b"]], dtype=np.int64)
    scores = pair_scores(recorder.embeddings, idx_a, idx_b, ["cosine"])["cosine"]
    labels = np.asarray(list(pairs["label"])).astype(np.int64)

    def ap(y: np.ndarray, s: np.ndarray) -> float:
        return 100.0 * float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else float("nan")

    if not n_resamples:
        return ap(labels, scores), None, None
    res = bootstrap_cis({"ap": ap}, labels, scores, n_resamples=n_resamples, seed=seed, confidence=0.95)["ap"]
    return res.estimate, res.low, res.high


def quality(
    c: Contender, pairs: dict[str, dict[str, Any]], data_dir: str | None, batch_size: int, n_resamples: int
) -> dict[str, dict[str, Any]]:
    """The four test figures of one contender (×100, 95% bootstrap CIs), through the evaluators."""
    out: dict[str, dict[str, Any]] = {}
    for name, metric, _ in QUALITY:
        recorder = RecordingModel(c.model, c.name)
        options: dict[str, Any] = {}
        if metric.endswith("_ap"):
            options["retrieval"] = False
            if pairs[name]["dev"] is not None:
                options["dev_pairs"] = pairs[name]["dev"]
        rec = evaluate_on(
            recorder,
            name,
            "test",
            data_dir,
            pairs=pairs[name]["test"],
            batch_size=batch_size,
            n_resamples=n_resamples,
            seed=0,
            show_progress_bar=False,
            similarities=["cosine"],
            primary_similarity="cosine",
            **options,
        )
        value = float(rec["metrics"][metric])
        entry: dict[str, Any] = {"metric": metric, "value": value, "n_pairs": rec["n_pairs"]}
        if metric.endswith("_ap"):
            ap, low, high = ap_bootstrap(recorder, pairs[name]["test"], n_resamples)
            if abs(ap - value) > 1e-6:
                logger.warning(
                    "%s %s: AP from the kept embeddings %.6f != the evaluator's %.6f", c.name, name, ap, value
                )
            entry.update(low=low, high=high, ci="bootstrap of sklearn average_precision_score over the test pairs")
            entry["accuracy_at_dev_threshold"] = rec["metrics"].get("cosine_accuracy")
            entry["roc_auc"] = rec["metrics"].get("cosine_roc_auc")
        else:
            ci = rec["ci"].get(metric, {})
            entry.update(low=ci.get("low"), high=ci.get("high"), ci="evaluator's bootstrap")
        out[name] = entry
        logger.info("[quality] %s %s %s = %s", c.name, name, metric, value_ci(entry))
    return out


def speed(contenders: list[Contender], texts: list[str], batch_size: int, runs: int) -> dict[str, dict[str, Any]]:
    """Sentences/s of each contender on ``texts``: one warm-up each, then ``runs`` alternating runs; medians."""
    for c in contenders:
        c.encode(texts[:512], batch_size)
    jobs = {c.name: (lambda c=c: c.encode(texts, batch_size)) for c in contenders}
    times = alternating_times(jobs, runs, "speed", items=len(texts), unit="sentences")
    return {
        name: {"sentences_per_s": len(texts) / median, "runs_s": [round(t, 4) for t in times[name]]}
        for name, median in medians(times).items()
    }


def load_times(contenders: list[Contender], runs: int) -> dict[str, dict[str, Any]]:
    """Seconds to load each contender from its folder: one warm-up load, then ``runs`` alternating loads; medians."""
    for c in contenders:
        c.load()
    times = alternating_times({c.name: c.load for c in contenders}, runs, "load")
    return {
        name: {"median_s": med, "runs_s": [round(t, 4) for t in times[name]]} for name, med in medians(times).items()
    }


# ---------------------------------------------------------------------------------------------- goals
def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets for every student, each met or not, with the figures behind the verdict."""
    by_name = {r["name"]: r for r in rows}
    m2v = by_name.get(MODEL2VEC)
    m2v_stsb = m2v["quality"]["stsb"]["value"] if m2v and m2v.get("quality") else None
    out = []
    for r in rows:
        if r["role"] != "student" or r.get("quality") is None:
            continue
        stsb, sick = r["quality"]["stsb"]["value"], r["quality"]["sick"]["value"]
        sps, x_st = r["sentences_per_s"], r["x_st"]
        checks: list[dict[str, Any]] = []
        if r["kind"] == "static":
            checks.append({"what": f"sentences/s ≥ {STATIC_MIN_SPS:,.0f}", "value": sps, "met": sps >= STATIC_MIN_SPS})
            checks.append({"what": f"STS-B ρ ≥ {STATIC_MIN_STSB:g}", "value": stsb, "met": stsb >= STATIC_MIN_STSB})
            if m2v_stsb is not None:
                need = m2v_stsb + STATIC_MARGIN_OVER_M2V
                checks.append(
                    {
                        "what": f"STS-B ρ ≥ model2vec's + {STATIC_MARGIN_OVER_M2V:g} (= {need:.2f})",
                        "value": stsb,
                        "met": stsb >= need,
                    }
                )
            else:
                checks.append(
                    {"what": "STS-B ρ ≥ model2vec's + 8", "value": stsb, "met": None, "why": "model2vec not run"}
                )
        elif r["kind"] in ("cnn", "lstm"):
            checks.append(
                {
                    "what": f"≥ {NEURAL_MIN_X_ST:g}× sentence-transformers fp32",
                    "value": x_st,
                    "met": None if x_st is None else x_st >= NEURAL_MIN_X_ST,
                    **({"why": "sentence-transformers not run"} if x_st is None else {}),
                }
            )
            checks.append({"what": f"STS-B ρ ≥ {NEURAL_MIN_STSB:g}", "value": stsb, "met": stsb >= NEURAL_MIN_STSB})
            checks.append({"what": f"SICK-R ρ ≥ {NEURAL_MIN_SICK:g}", "value": sick, "met": sick >= NEURAL_MIN_SICK})
        else:
            continue
        verdicts = [ch["met"] for ch in checks]
        met = False if False in verdicts else (None if None in verdicts else True)
        out.append({"student": r["name"], "kind": r["kind"], "checks": checks, "met": met})
    return out


# ---------------------------------------------------------------------------------------------- rendering
def fmt_seconds(s: float) -> str:
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s" if s < 600 else f"{s / 60:.1f} min"


def distil_cell(row: dict[str, Any]) -> str:
    d = row.get("distil")
    if not d:
        return "–"
    if "teacher_seconds" in d:
        return f"teacher {fmt_seconds(d['teacher_seconds'])} + training {fmt_seconds(d['train_seconds'])}"
    return f"{fmt_seconds(d['seconds'])} (measured)"


def render(payload: dict[str, Any]) -> str:
    """The markdown report: settings, one table (a row per contender), notes, goals."""
    s = payload["settings"]
    header = [
        "contender",
        "dim",
        "params",
        "size MB",
        "load s",
        "time to distil",
        "sentences/s",
        "× ST fp32",
        "× teacher",
        *(label + " [CI]" for _, _, label in QUALITY),
    ]
    rows = []
    for r in payload["contenders"]:
        label = (
            r["name"] if r["kind"] in (r["name"], "teacher", "sentence-transformers") else f"{r['name']} ({r['kind']})"
        )
        if r.get("not_run"):
            rows.append([label, *["–"] * 5, "not run", "–", "–", *["not run"] * len(QUALITY)])
            continue
        q = r["quality"]
        rows.append(
            [
                label,
                r["dim"],
                f"{r['params'] / 1e6:.2f}M",
                f"{r['size_bytes'] / 1e6:.1f}",
                f"{r['load_s']:.2f}",
                distil_cell(r),
                f"{r['sentences_per_s']:,.0f}",
                "–" if r["x_st"] is None else f"{r['x_st']:.1f}×",
                f"{r['x_teacher']:.1f}×",
                *(value_ci(q[name]) for name, _, _ in QUALITY),
            ]
        )
    threads = payload["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["environment"].items())
    lines = [
        f"Teacher: {payload['teacher']}."
        + (" **Smoke run: small samples, figures not comparable.**" if s["smoke"] else ""),
        "",
        "Quality: zero-shot on the test splits"
        + (f" (first {s['limit']} pairs of each)" if s["limit"] else "")
        + ", cosine similarity, ×100 with 95% bootstrap CIs "
        f"({s['n_resamples']} resamples, seed 0): STS-B and SICK-R Spearman, MRPC and Quora average precision "
        "(threshold-free; its CI resamples the test pairs' scores, scikit-learn's `average_precision_score` on each).",
        "",
        f"Speed: {payload['n_speed_texts']:,} unique STS-B test+dev sentences, batch {s['batch_size']} for every "
        f"contender, median of {s['runs']} alternating runs after one warm-up; torch threads "
        f"{threads['torch']}; {env}. Load: median of {s['load_runs']} in-process loads after a warm-up. "
        "Size: all files of the model folder.",
        "",
        *markdown_table(header, rows, "lrrrrlrrr" + "r" * len(QUALITY)),
        "",
    ]
    lines += [f"- {note}" for note in payload["notes"]]
    lines += ["", "**Goals**", ""]
    if not payload["goals"]:
        lines.append("No static, CNN or LSTM student in this run.")
    for g in payload["goals"]:
        parts = []
        for ch in g["checks"]:
            if ch["value"] is None:
                value = "–"
            elif "sentences/s" in ch["what"]:
                value = f"{ch['value']:,.0f}"
            elif "×" in ch["what"]:
                value = f"{ch['value']:.1f}×"
            else:
                value = f"{ch['value']:.2f}"
            verdict = "met" if ch["met"] else ("not checked: " + ch.get("why", "") if ch["met"] is None else "not met")
            parts.append(f"{ch['what']}: {value}, {verdict}")
        overall = {True: "met", False: "not met", None: "not fully checked"}[g["met"]]
        lines.append(f"- {g['student']} ({g['kind']}): **{overall}** — " + "; ".join(parts) + ".")
    lines += ["", f"Total wall time: {payload['total_wall_s'] / 60:.1f} min."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``, default ``sys.argv[1:]``), with the ``--smoke`` sizes applied."""
    p = benchmark_parser(__doc__, "towers")
    p.add_argument("--teacher", default=None, help="teacher model folder (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument(
        "--student",
        action="append",
        type=parse_student,
        default=[],
        metavar="NAME=DIR",
        help="a folder written by `textsiam distill` (repeatable)",
    )
    p.add_argument("--no-st", action="store_true", help="leave sentence-transformers out")
    p.add_argument(
        "--model2vec",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="distil and compare model2vec (default: yes, but not with --smoke)",
    )
    p.add_argument("--work-dir", default=None, help="where model2vec's model is saved (default: a temp dir)")
    p.add_argument("--speed-texts", type=int, default=4000, help="unique STS-B test+dev sentences timed (0 = all)")
    p.add_argument("--batch-size", type=int, default=64, help="encode batch size of every contender")
    p.add_argument("--runs", type=int, default=5, help="alternating timing runs (median reported)")
    p.add_argument("--load-runs", type=int, default=3, help="timed loads per contender (median reported)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own setting)")
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N pairs of each dataset (smoke)")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples of the CIs")
    p.add_argument("--smoke", action="store_true", help="tiny run: 200 pairs and sentences, 1 run, no model2vec")
    p.add_argument("--results-name", default=None, help="default: distill, or distill_smoke with --smoke")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.smoke:
        args.limit = args.limit or 200
        args.speed_texts = min(args.speed_texts or 200, 200)
        args.runs = 1
        args.load_runs = 1
        args.n_resamples = min(args.n_resamples, 50)
        args.model2vec = bool(args.model2vec)
    elif args.model2vec is None:
        args.model2vec = True
    names = [name for name, _ in args.student]
    clash = sorted({n for n in names if names.count(n) > 1 or n in (TEACHER, ST, MODEL2VEC)})
    if clash:
        p.error(f"--student names must be unique and not {TEACHER}, {ST} or {MODEL2VEC}: {clash}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the comparison and write the result files; returns the payload."""
    args = parse_args(argv)
    configure(logging.INFO)
    if args.quiet:
        os.environ.setdefault("TQDM_DISABLE", "1")
    for noisy in ("textsiam", "transformers", "datasets", "sentence_transformers", "model2vec", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch
    import transformers

    from textsiam.model.loading import default_model_path

    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = resolve_data_dir(args.data_dir)
    teacher_path = Path(args.teacher).expanduser() if args.teacher else Path(default_model_path())
    work = Path(args.work_dir).expanduser() if args.work_dir else Path(tempfile.mkdtemp(prefix="distill-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    wall = time.perf_counter()

    contenders: list[Contender] = [textsiam_contender(TEACHER, "teacher", teacher_path)]
    not_run: dict[str, str] = {}
    if args.no_st:
        not_run[ST] = "--no-st"
    else:
        try:
            contenders.append(st_contender(teacher_path))
        except Exception as err:  # noqa: BLE001 - the peer may not read this teacher: record why
            not_run[ST] = f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
    for name, path in args.student:
        contenders.append(student_contender(name, path))
    m2v_version = None
    if not args.model2vec:
        not_run[MODEL2VEC] = "--no-model2vec" if not args.smoke else "left out by --smoke; add --model2vec to run it"
    else:
        try:
            contenders.append(model2vec_contender(teacher_path, work))
            m2v_version = metadata.version("model2vec")
        except ImportError as err:  # the peer (or one of its own imports) is not installed
            not_run[MODEL2VEC] = f"model2vec is not importable ({type(err).__name__}: {err})"
        except Exception as err:  # noqa: BLE001 - the peer may not distil this teacher: record why
            not_run[MODEL2VEC] = f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
    for name, why in not_run.items():
        logger.warning("%s not run: %s", name, why)

    pairs = eval_pairs(data_dir, args.limit)
    scores = {c.name: quality(c, pairs, data_dir, args.batch_size, args.n_resamples) for c in contenders}
    texts = speed_sentences(data_dir, args.speed_texts)
    rates = speed(contenders, texts, args.batch_size, args.runs)
    loads = load_times(contenders, args.load_runs)

    st_sps = rates[ST]["sentences_per_s"] if ST in rates else None
    teacher_sps = rates[TEACHER]["sentences_per_s"]
    measured: dict[str, dict[str, Any]] = {}
    for c in contenders:
        sps = rates[c.name]["sentences_per_s"]
        measured[c.name] = {
            "name": c.name,
            "kind": c.kind,
            "role": TEACHER if c.name == TEACHER else ("peer" if c.name in (ST, MODEL2VEC) else "student"),
            "path": str(c.path),
            "dim": c.dim,
            "params": c.params,
            "size_bytes": folder_bytes(c.path),
            "load_s": loads[c.name]["median_s"],
            "load_runs_s": loads[c.name]["runs_s"],
            "distil": c.distil,
            "sentences_per_s": sps,
            "speed_runs_s": rates[c.name]["runs_s"],
            "x_st": sps / st_sps if st_sps else None,
            "x_teacher": sps / teacher_sps,
            "quality": scores[c.name],
            "info": c.info,
        }
    skipped = {
        name: {"name": name, "kind": kind, "role": "peer", "not_run": not_run[name]}
        for name, kind in ((ST, "sentence-transformers"), (MODEL2VEC, MODEL2VEC))
        if name in not_run
    }
    order = [TEACHER, ST, *(name for name, _ in args.student), MODEL2VEC]
    rows = [measured.get(name) or skipped[name] for name in order if name in measured or name in skipped]
    notes = [
        "× ST fp32 and × teacher: sentences/s over those of sentence-transformers fp32 and of the teacher, same texts, "
        "batch size and threads.",
        "Time to distil: students from their `distillation.json` (the teacher's embeddings of the corpus + training; "
        "0 s for the teacher part when the targets were given), model2vec measured in this run with its defaults.",
        "model2vec is encoded through an adapter (float32 output, its own `batch_size` set to the run's, "
        "multiprocessing off); its tokenizer, like textsiam's static tower's, is Rust and follows RAYON_NUM_THREADS "
        "and TOKENIZERS_PARALLELISM.",
        "MRPC and Quora accuracy at dev-chosen thresholds and ROC-AUC are in the JSON file "
        "(`accuracy_at_dev_threshold`, `roc_auc`).",
    ]
    notes += [f"{name}: not run ({why})." for name, why in not_run.items()]
    if m2v_version:
        notes.append(f"model2vec {m2v_version} (the peer; not a textsiam dependency).")
    payload: dict[str, Any] = {
        "teacher": str(args.teacher or f"all-MiniLM-L6-v2 (embedded, {teacher_path})"),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "results_dir"},
        "threads": {
            "torch": torch.get_num_threads(),
            "set_by": "--threads" if args.threads else "torch's default",
            "environment": {k: os.environ.get(k) for k in THREAD_VARIABLES},
        },
        "peer_versions": {"model2vec": m2v_version} if m2v_version else {},
        "work_dir": str(work),
        "n_speed_texts": len(texts),
        "speed_texts": "unique STS-B test then dev sentences, file order",
        "contenders": rows,
        "not_run": not_run,
        "goals": goals(rows),
        "notes": notes,
        "total_wall_s": round(time.perf_counter() - wall, 1),
    }
    payload["settings"]["student"] = [f"{n}={p}" for n, p in args.student]
    name = args.results_name or ("distill_smoke" if args.smoke else "distill")
    write_results(args.results_dir, name, payload, render(payload))
    for line in render(payload).splitlines():
        logger.info("%s", line)
    return payload


if __name__ == "__main__":
    main()
