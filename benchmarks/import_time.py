"""Start-up cost: cold ``import textsiam``, ``textsiam --help`` and ``textsiam score --help`` against
``import sentence_transformers``, each in a fresh Python process, alternating, medians.

A fresh process per run measures what a user waits for when a command starts (the operating system's file
cache is warm after the first run; the first, cold-cache run of each is dropped). Run it with nothing else
heavy on the machine.

    python -m benchmarks.import_time --runs 9

Writes benchmarks/results/speed/import_time.{json,md}.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import benchmark_parser, configure, markdown_table, medians, write_results

logger = logging.getLogger("benchmarks.import_time")

#: What each row runs in a fresh process.
JOBS: dict[str, list[str]] = {
    "import textsiam": [sys.executable, "-c", "import textsiam"],
    "textsiam --help": ["textsiam", "--help"],
    "textsiam score --help": ["textsiam", "score", "--help"],
    "import textsiam; textsiam.SiameseModel (loads torch)": [
        sys.executable,
        "-c",
        "import textsiam; textsiam.SiameseModel",
    ],
    "import sentence_transformers (peer)": [sys.executable, "-c", "import sentence_transformers"],
}


def run_once(argv: list[str]) -> float:
    """Wall seconds of one fresh process running ``argv`` (which must exit 0)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = benchmark_parser(__doc__, "speed", data_dir=False)
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each command (after one warm-up run)")
    args = parser.parse_args(argv)
    configure()
    jobs = dict(JOBS)
    if shutil.which("textsiam") is None:  # not installed as a console script: run the module instead
        for name in ("textsiam --help", "textsiam score --help"):
            jobs[name] = [sys.executable, "-m", "textsiam", *jobs[name][1:]]
    order = list(jobs)
    times: dict[str, list[float]] = {name: [] for name in order}
    for name in order:  # warm the file cache; not timed
        run_once(jobs[name])
    for r in range(args.runs):
        for name in order if r % 2 == 0 else order[::-1]:
            times[name].append(run_once(jobs[name]))
        logger.info("run %d/%d: %s", r + 1, args.runs, ", ".join(f"{n}: {times[n][-1]:.2f}s" for n in order))
    med = medians(times)
    peer = med["import sentence_transformers (peer)"]
    rows = [[name, f"{med[name]:.2f}", f"{min(times[name]):.2f}", f"{peer / med[name]:.1f}x"] for name in order]
    body = "\n".join(
        [
            f"Medians of {args.runs} fresh processes per command (alternating order; one untimed warm-up each).",
            "",
            *markdown_table(["command", "median s", "min s", "vs import sentence_transformers"], rows, "lrrr"),
            "",
            "`textsiam --help` goal: under 1 s (issue #17).",
        ]
    )
    payload = {"runs": args.runs, "jobs": {k: " ".join(v) for k, v in jobs.items()}, "times_s": times, "median_s": med}
    write_results(args.results_dir, "import_time", payload, body)
    print(body)
    return payload


if __name__ == "__main__":
    main()
