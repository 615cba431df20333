"""``python -m benchmarks.distill``: a smoke run on a tiny teacher and a tiny static student, and its pieces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import SENTENCES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("distill")


@pytest.fixture
def static_student(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A static student of the tiny teacher, written by the library's ``distill`` (with ``distillation.json``)."""
    from textsiam import SiameseModel
    from textsiam.training.distill import DistillConfig, distill

    teacher = SiameseModel.from_pretrained(str(tiny_model_dir), device="cpu")
    out = tmp_path / "static"
    config = DistillConfig(tower="static", epochs=1, vocabulary=False, show_progress=False, output_dir=str(out))
    distill(config, list(SENTENCES) * 4, teacher=teacher)
    return out


def test_smoke_run(
    bench: Any, static_student: Path, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    results = tmp_path / "results"
    payload = bench.main(
        [
            "--smoke",
            "--teacher",
            str(tiny_model_dir),
            "--student",
            f"tiny-static={static_student}",
            "--data-dir",
            data_dir,
            "--limit",
            "120",
            "--speed-texts",
            "100",
            "--threads",
            "1",
            "--n-resamples",
            "20",
            "--work-dir",
            str(tmp_path / "work"),
            "--results-dir",
            str(results),
            "-q",
        ]
    )
    json_path, md_path = results / "distill_smoke.json", results / "distill_smoke.md"
    assert json_path.is_file() and md_path.is_file()
    saved = json.loads(json_path.read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "contenders", "goals", "threads", "not_run"} <= set(saved)
    rows = {r["name"]: r for r in saved["contenders"]}
    assert list(rows) == ["teacher", "st-fp32", "tiny-static", "model2vec"]
    assert rows["model2vec"]["not_run"]  # --smoke leaves the peer out
    assert rows["tiny-static"]["kind"] == "static" and rows["tiny-static"]["role"] == "student"
    st, teacher = rows["st-fp32"], rows["teacher"]
    for r in (teacher, st, rows["tiny-static"]):
        assert r["x_st"] == pytest.approx(r["sentences_per_s"] / st["sentences_per_s"])
        assert r["x_teacher"] == pytest.approx(r["sentences_per_s"] / teacher["sentences_per_s"])
        assert r["dim"] == 32 and r["params"] > 0 and r["size_bytes"] > 0 and r["load_s"] > 0
        for name in ("stsb", "sick", "mrpc", "quora"):
            q = r["quality"][name]
            assert q["n_pairs"] == 120
            assert np.isfinite(q["value"]) and q["low"] <= q["high"]
        assert r["quality"]["mrpc"]["metric"] == "cosine_ap"
        assert r["quality"]["sick"]["metric"] == "cosine_spearman"
    # sentence-transformers reads the teacher's folder: the same embeddings, so the same figures
    for name in ("stsb", "sick", "mrpc", "quora"):
        assert st["quality"][name]["value"] == pytest.approx(teacher["quality"][name]["value"], abs=1e-3)
    distil = rows["tiny-static"]["distil"]
    assert distil["seconds"] == pytest.approx(distil["teacher_seconds"] + distil["train_seconds"])
    assert saved["threads"]["torch"] == 1 and "RAYON_NUM_THREADS" in saved["threads"]["environment"]
    assert [g["student"] for g in saved["goals"]] == ["tiny-static"]
    md = md_path.read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 4  # header + a row per contender
    assert "not run" in table[-1] and "**Goals**" in md and "tiny-static (static)" in md
    assert payload["contenders"][0]["name"] == "teacher"


def test_ap_bootstrap_uses_the_kept_embeddings(import_benchmark: Any) -> None:
    measure = import_benchmark("distill_measure")
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    texts = [f"t{i}" for i in range(40)]
    emb = rng.normal(size=(40, 8)).astype(np.float32)

    class Fixed:
        def encode(self, items: list[str], batch_size: int = 64, show_progress_bar: bool = False) -> np.ndarray:
            return emb[[texts.index(t) for t in items]]

    recorder = measure.RecordingModel(Fixed(), "fixed")
    recorder.encode(texts)
    pairs = {"text_a": texts[:20], "text_b": texts[20:], "label": [i % 2 for i in range(20)]}
    a, b = emb[:20], emb[20:]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    ap, low, high = measure.ap_bootstrap(recorder, pairs, n_resamples=200)
    assert ap == pytest.approx(100 * average_precision_score(pairs["label"], cos))
    assert low < ap < high
    assert measure.ap_bootstrap(recorder, pairs, n_resamples=200) == (ap, low, high)  # seeded


def test_model2vec_adapter_gives_float32(import_benchmark: Any) -> None:
    class FakeStatic:
        def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
            assert kwargs["use_multiprocessing"] is False and kwargs["batch_size"] == 7
            return np.ones((len(texts), 4), dtype=np.float16)

    adapter = import_benchmark("distill_contenders").StaticModelAdapter(FakeStatic(), "fake")
    out = adapter.encode(["a", "b"], batch_size=7, show_progress_bar=False, normalize_embeddings=True)
    assert out.dtype == np.float32 and out.shape == (2, 4)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert adapter.encode("a", batch_size=7).shape == (4,)


def row(name: str, kind: str, sps: float, x_st: float | None, stsb: float, sick: float) -> dict[str, Any]:
    role = "student" if kind in ("static", "cnn", "lstm") else "peer"
    quality = {"stsb": {"value": stsb}, "sick": {"value": sick}}
    return {"name": name, "kind": kind, "role": role, "sentences_per_s": sps, "x_st": x_st, "quality": quality}


def test_goals(import_benchmark: Any) -> None:
    report = import_benchmark("distill_report")
    rows = [
        row("model2vec", "model2vec", 15000, 60.0, 66.0, 61.0),
        row("s", "static", 12000, 48.0, 75.0, 70.0),
        row("c", "cnn", 6000, 25.0, 78.5, 72.0),
    ]
    goals = {g["student"]: g for g in report.goals(rows)}
    assert goals["s"]["met"] is True
    assert [ch["met"] for ch in goals["s"]["checks"]] == [True, True, True]
    assert goals["c"]["met"] is False  # SICK-R 72 < 73
    assert [ch["met"] for ch in goals["c"]["checks"]] == [True, True, False]
    without_peer = {g["student"]: g for g in report.goals(rows[1:])}
    assert without_peer["s"]["met"] is None  # the model2vec margin cannot be checked


def test_parse_args(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args = bench.parse_args(["--smoke", "--student", "a=/x"])
    assert args.model2vec is False and args.limit == 200 and args.speed_texts == 200 and args.runs == 1
    assert args.student == [("a", Path("/x"))]
    assert bench.parse_args([]).model2vec is True
    assert bench.parse_args(["--smoke", "--model2vec"]).model2vec is True
    capsys.readouterr()
    with pytest.raises(SystemExit, match="^2$"):  # argparse's usage error: exit code 2, the message on stderr
        bench.parse_args(["--student", "teacher=/x"])
    assert "error: --student names must be unique and not teacher" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="^2$"):
        bench.parse_args(["--student", "nodir"])
    assert "error: argument --student: --student takes NAME=DIR, got 'nodir'" in capsys.readouterr().err
