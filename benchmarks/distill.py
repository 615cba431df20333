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
import logging
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import benchmark_parser, configure, resolve_data_dir, write_results
from benchmarks.distill_contenders import (
    MODEL2VEC,
    ST,
    TEACHER,
    Contender,
    folder_bytes,
    model2vec_contender,
    st_contender,
    student_contender,
    textsiam_contender,
)
from benchmarks.distill_measure import eval_pairs, load_times, quality, speed, speed_sentences
from benchmarks.distill_report import goals, render

logger = logging.getLogger("benchmarks.distill")

#: environment variables that set the thread pools of torch and of the Rust tokenizers
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS", "TOKENIZERS_PARALLELISM")


def parse_student(spec: str) -> tuple[str, Path]:
    """``NAME=DIR`` of ``--student``."""
    name, sep, folder = spec.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise argparse.ArgumentTypeError(f"--student takes NAME=DIR, got {spec!r}")
    return name.strip(), Path(folder.strip()).expanduser()


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
