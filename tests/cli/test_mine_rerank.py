"""``textsiam mine --rerank``: the mined pairs re-scored by a cross-encoder, ordered by its score, both scores written;
its options and errors (before any model loads), and its cost in the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cross_encoders import make_tiny_cross_encoder
from reranking import TEXTS, spread_cross_encoder

pytest.importorskip("faiss")

from textsiam.cli import common, main  # noqa: E402
from textsiam.model.cross_encoder import CrossEncoder  # noqa: E402

HEADER = ["i", "j", "score", "rerank_score", "text_a", "text_b"]


@pytest.fixture(scope="module")
def ce_dir(tmp_path_factory, default_tokenizer) -> Path:
    path = tmp_path_factory.mktemp("cross") / "ce"
    spread_cross_encoder(default_tokenizer).save(path)
    return path


@pytest.fixture(scope="module")
def ce(ce_dir) -> CrossEncoder:
    return CrossEncoder(ce_dir, device="cpu")


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join([*TEXTS, "with a\ttab"]) + "\n", encoding="utf-8")
    return path


def lines_of(corpus: Path) -> list[str]:
    return corpus.read_text(encoding="utf-8").splitlines()


def read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def mine_args(corpus: Path, out: Path, model: Path) -> list[str]:
    return ["mine", str(corpus), "-o", str(out), "--model", str(model), "-q", "--threshold", "-1", "--top-k", "4"]


def never_load(args):  # noqa: ANN001, ANN201
    raise AssertionError("no model may load")


# ---------------------------------------------------------------------------------------------- output
def test_mine_rerank_orders_by_the_cross_encoder_and_writes_both_scores(tiny_model_dir, ce_dir, ce, corpus, tmp_path):
    plain, reranked = tmp_path / "plain.tsv", tmp_path / "reranked.tsv"
    assert main(mine_args(corpus, plain, tiny_model_dir)) == 0
    argv = [*mine_args(corpus, reranked, tiny_model_dir), "--rerank", str(ce_dir), "--chunk-size", "5"]
    assert main([*argv, "--rerank-batch-size", "2"]) == 0
    header, candidates = read_tsv(plain)
    assert header == ["i", "j", "score", "text_a", "text_b"]  # without --rerank: as before
    header, rows = read_tsv(reranked)
    assert header == HEADER and len(rows) == len(candidates) > 10
    texts = lines_of(corpus)
    expected = ce.predict([(texts[int(r[0])], texts[int(r[1])]) for r in candidates])
    order = np.argsort(-expected, kind="stable")
    assert [r[:2] for r in rows] == [candidates[k][:2] for k in order]  # the order of CrossEncoder.predict
    np.testing.assert_allclose([float(r[3]) for r in rows], expected[order], atol=1e-6)
    assert [r[2] for r in rows] == [candidates[k][2] for k in order]  # each pair keeps its twin-tower score
    shown = [t.replace("\t", " ") for t in texts]  # the cross-encoder read the tab; the file shows a space
    assert all(len(r) == 6 and r[4] == shown[int(r[0])] and r[5] == shown[int(r[1])] for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "plain.tsv", "reranked.tsv"]


def test_the_rerank_threshold_and_the_log(tiny_model_dir, ce_dir, ce, corpus, tmp_path, capsys):
    all_pairs, kept = tmp_path / "all.tsv", tmp_path / "kept.tsv"
    base = mine_args(corpus, all_pairs, tiny_model_dir)
    assert main([*base, "--rerank", str(ce_dir)]) == 0
    _, rows = read_tsv(all_pairs)
    scores = [float(r[3]) for r in rows]
    threshold = scores[len(scores) // 3]  # a score that occurs: >= keeps it
    argv = [*mine_args(corpus, kept, tiny_model_dir), "--rerank", str(ce_dir), "--rerank-threshold", str(threshold)]
    capsys.readouterr()
    assert main([a for a in argv if a != "-q"]) == 0  # not quiet: INFO on stderr
    err = capsys.readouterr().err
    _, kept_rows = read_tsv(kept)
    assert kept_rows == [r for r in rows if float(r[3]) >= threshold] and 0 < len(kept_rows) < len(rows)
    assert err.count(f"re-ranked {len(rows)} candidate pairs with {ce_dir} in ") == 1, err
    assert "s per 1,000 candidates); kept" in err and f"with a re-ranking score >= {threshold:g}" in err
    assert "scoring" not in err and "Re-ranking" not in err  # no line per chunk; no bar for a few pairs
    assert f"wrote {len(kept_rows)} pairs" in err and ", re-ranked in " in err


def test_a_multi_label_cross_encoder_needs_positive_label(
    tiny_model_dir, default_tokenizer, corpus, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "nli"
    nli = make_tiny_cross_encoder(default_tokenizer, num_labels=3, id2label={0: "c", 1: "e", 2: "n"})
    nli.save(folder)
    out = tmp_path / "pairs.tsv"
    argv = [*mine_args(corpus, out, tiny_model_dir), "--rerank", str(folder)]
    real_load = common.load_model
    monkeypatch.setattr(common, "load_model", never_load)  # refused before the twin tower loads
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("textsiam mine: error: the cross-encoder") and "has 3 labels" in err, err
    assert "(0: c, 1: e, 2: n)" in err and "--positive-label" in err
    assert not out.exists()
    monkeypatch.setattr(common, "load_model", real_load)
    assert main([*argv, "--positive-label", "e"]) == 0
    _, rows = read_tsv(out)
    texts = lines_of(corpus)
    probability = nli.predict([(texts[int(r[0])], texts[int(r[1])]) for r in rows], apply_softmax=True)[:, 1]
    np.testing.assert_allclose([float(r[3]) for r in rows], probability, atol=1e-6)
    assert all(float(a[3]) >= float(b[3]) for a, b in zip(rows, rows[1:], strict=False))


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--rerank-threshold", "0.5"],
            "--rerank-threshold applies to re-ranking: give the cross-encoder with --rerank",
        ),
        (
            ["--rerank-batch-size", "8"],
            "--rerank-batch-size applies to re-ranking: give the cross-encoder with --rerank",
        ),
        (
            ["--rerank-twin-weight", "0.5"],
            "--rerank-twin-weight applies to re-ranking: give the cross-encoder with --rerank",
        ),
        (["--positive-label", "1"], "--positive-label applies to re-ranking: give the cross-encoder with --rerank"),
    ],
)
def test_rerank_options_without_rerank_fail_before_any_model_loads(
    extra, message, corpus, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(common, "load_model", never_load)
    monkeypatch.setattr(common, "load_cross_encoder", never_load)
    out = tmp_path / "pairs.tsv"
    code = main([*mine_args(corpus, out, tmp_path / "unused"), *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and captured.err == f"textsiam mine: error: {message} MODEL\n"
    assert not out.exists()


def test_a_twin_weight_orders_by_both_scores_and_writes_the_fused_one(tiny_model_dir, ce_dir, ce, corpus, tmp_path):
    plain, mixed = tmp_path / "plain.tsv", tmp_path / "mixed.tsv"
    assert main(mine_args(corpus, plain, tiny_model_dir)) == 0
    assert (
        main([*mine_args(corpus, mixed, tiny_model_dir), "--rerank", str(ce_dir), "--rerank-twin-weight", "0.3"]) == 0
    )
    _, candidates = read_tsv(plain)
    header, rows = read_tsv(mixed)
    assert header == ["i", "j", "score", "rerank_score", "fused_score", "text_a", "text_b"]
    texts = lines_of(corpus)
    ce_scores = ce.predict([(texts[int(r[0])], texts[int(r[1])]) for r in candidates]).astype(np.float64)
    twin = np.array([float(r[2]) for r in candidates])
    key = 0.7 * (ce_scores - ce_scores.mean()) / ce_scores.std() + 0.3 * (twin - twin.mean()) / twin.std()
    order = np.argsort(-key, kind="stable")
    assert not np.array_equal(order, np.argsort(-ce_scores, kind="stable"))  # not the cross-encoder's order
    assert [r[:2] for r in rows] == [candidates[k][:2] for k in order]
    np.testing.assert_allclose([float(r[4]) for r in rows], key[order], atol=1e-4)
    assert all(len(r) == 7 and r[5] == texts[int(r[0])].replace("\t", " ") for r in rows)


def test_a_twin_weight_of_0_is_the_cross_encoders_order_without_a_fused_column(
    tiny_model_dir, ce_dir, corpus, tmp_path
):
    plain, zero = tmp_path / "reranked.tsv", tmp_path / "zero.tsv"
    assert main([*mine_args(corpus, plain, tiny_model_dir), "--rerank", str(ce_dir)]) == 0
    assert main([*mine_args(corpus, zero, tiny_model_dir), "--rerank", str(ce_dir), "--rerank-twin-weight", "0"]) == 0
    assert zero.read_text(encoding="utf-8") == plain.read_text(encoding="utf-8")
    assert read_tsv(zero)[0] == HEADER


def test_a_twin_weight_outside_0_1_fails_before_any_model_loads(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", never_load)
    monkeypatch.setattr(common, "load_cross_encoder", never_load)
    out = tmp_path / "pairs.tsv"
    code = main([*mine_args(corpus, out, tmp_path / "unused"), "--rerank", "ce", "--rerank-twin-weight", "1.5"])
    err = capsys.readouterr().err
    assert code == 2 and err == (
        "textsiam mine: error: --rerank-twin-weight: the twin tower's weight in the re-ranking must be a number in "
        "[0, 1], got 1.5\n"
    )
    assert not out.exists()


def test_a_twin_tower_cannot_rerank(tiny_model_dir, corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", never_load)  # refused before the twin tower loads
    out = tmp_path / "pairs.tsv"
    code = main([*mine_args(corpus, out, tiny_model_dir), "--rerank", str(tiny_model_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"textsiam mine: error: {tiny_model_dir} is not a cross-encoder"), err
    assert not out.exists()


def test_a_bad_rerank_value_is_an_argument_error(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", never_load)
    monkeypatch.setattr(common, "load_cross_encoder", never_load)
    base = mine_args(corpus, tmp_path / "pairs.tsv", tmp_path / "unused")
    for extra, option in (
        (["--rerank-threshold", "nan"], "--rerank-threshold"),
        (["--rerank-batch-size", "0"], "--rerank-batch-size"),
    ):
        with pytest.raises(SystemExit, match="^2$"):
            main([*base, "--rerank", "ce", *extra])
        assert f"argument {option}" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- a real process
@pytest.mark.slow  # a subprocess that imports torch and faiss
def test_mine_rerank_in_a_process(tiny_model_dir, ce_dir, corpus, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    out = tmp_path / "pairs.tsv"
    argv = [sys.executable, "-m", "textsiam", *mine_args(corpus, out, tiny_model_dir)[:-5], "--threshold", "-1"]
    proc = subprocess.run(
        [*argv, "--rerank", str(ce_dir), "--rerank-threshold", "0.3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    header, rows = read_tsv(out)
    assert header == HEADER and rows and all(float(r[3]) >= 0.3 for r in rows)
    assert proc.stderr.count(f"candidate pairs with {ce_dir} in ") == 1 and "per 1,000 candidates" in proc.stderr
    proc = subprocess.run(
        [*argv, "--rerank", str(ce_dir), "--rerank-batch-size", "4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("textsiam mine: error:") and "--overwrite" in proc.stderr
