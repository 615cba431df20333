"""The ``textsiam`` command line, end to end on a tiny saved model."""

from __future__ import annotations

import numpy as np
import pytest

from textsiam import SiameseModel
from textsiam.cli import main


def test_score_two_texts(tiny_model_dir, capsys):
    assert main(["score", "a cat", "a dog", "--model", str(tiny_model_dir), "-q"]) == 0
    value = float(capsys.readouterr().out.strip())
    expected = SiameseModel.from_pretrained(tiny_model_dir, device="cpu").similarity("a cat", "a dog")
    assert value == pytest.approx(expected, abs=1e-5)


def test_score_pairs_file(tiny_model_dir, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text('text_a\ttext_b\na cat\ta dog\nsay "hi"\t\nx\tx\n', encoding="utf-8")
    out = tmp_path / "scores.tsv"
    assert (
        main(
            [
                "score",
                "--pairs",
                str(pairs),
                "--output",
                str(out),
                "--model",
                str(tiny_model_dir),
                "-q",
                "--chunk-size",
                "2",
            ]
        )
        == 0
    )
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["text_a", "text_b", "score"] and len(rows) == 4
    assert rows[2][:2] == ['say "hi"', ""]
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    expected = model.similarity(["a cat", 'say "hi"', "x"], ["a dog", "", "x"])
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], expected, atol=1e-5)
    # never overwrite without --overwrite
    assert main(["score", "--pairs", str(pairs), "--output", str(out), "--model", str(tiny_model_dir), "-q"]) == 2
    assert (
        main(
            ["score", "--pairs", str(pairs), "--output", str(out), "--model", str(tiny_model_dir), "-q", "--overwrite"]
        )
        == 0
    )


def test_score_bad_pairs_file_leaves_no_output(tiny_model_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\nonly-one-column\n", encoding="utf-8")
    out = tmp_path / "scores.tsv"
    assert main(["score", "--pairs", str(pairs), "--output", str(out), "--model", str(tiny_model_dir), "-q"]) == 2
    assert f"{pairs}:2" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [pairs]  # no partial output, no temp file


def test_encode(tiny_model_dir, tmp_path):
    src = tmp_path / "sentences.txt"
    src.write_text("first line\nsecond line\n\nfourth\n", encoding="utf-8")
    out = tmp_path / "emb.npy"
    assert (
        main(["encode", str(src), "--output", str(out), "--model", str(tiny_model_dir), "-q", "--chunk-size", "3"]) == 0
    )
    emb = np.load(out)
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    np.testing.assert_allclose(emb, model.encode(["first line", "second line", "", "fourth"]), atol=1e-5)


def test_encode_non_utf8(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "bad.txt"
    src.write_bytes(b"ok\n\xff\xfe broken\n")
    out = tmp_path / "emb.npy"
    assert main(["encode", str(src), "--output", str(out), "--model", str(tiny_model_dir), "-q"]) == 2
    assert f"{src}:2: not valid UTF-8" in capsys.readouterr().err
    assert not out.exists()


def test_score_needs_two_texts(tiny_model_dir, capsys):
    assert main(["score", "only one", "--model", str(tiny_model_dir)]) == 2
    assert "two texts" in capsys.readouterr().err


def test_evaluate_cli(tiny_model_dir, data_dir, tmp_path, capsys):
    import json

    out = tmp_path / "results.json"
    args = [
        "evaluate",
        "--model",
        str(tiny_model_dir),
        "--datasets",
        "stsb",
        "mrpc",
        "--data-dir",
        data_dir,
        "--n-resamples",
        "50",
        "--output",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| stsb | test |" in printed and "| mrpc | test |" in printed
    saved = json.loads(out.read_text())
    names = [r["dataset"] for r in saved["results"]]
    assert names == ["stsb", "mrpc"]
    assert saved["results"][1]["threshold_split"] == "dev"
    assert main(args) == 2  # the output exists: refuse without --overwrite


def test_evaluate_cli_on_a_small_file(tiny_model_dir, tmp_path, capsys):
    """End to end on a hand-made STS-B-format file in a private data folder."""
    import json

    rows = [
        ("A man is playing a guitar.", "A man plays the guitar.", 4.8),
        ("A woman is slicing an onion.", "A woman cuts an onion.", 4.2),
        ("A dog runs.", "The stock market fell.", 0.0),
        ("Kids play football.", "Children are playing soccer.", 3.9),
        ("The sky is blue.", "A cat sleeps on the sofa.", 0.4),
        ("He drinks coffee.", "He is drinking tea.", 2.5),
    ]
    (tmp_path / "data" / "stsb").mkdir(parents=True)
    lines = [f"main-captions\tMSRvid\t2012test\t{i:04d}\t{s}\t{a}\t{b}" for i, (a, b, s) in enumerate(rows)]
    (tmp_path / "data" / "stsb" / "sts-test.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    argv = [
        "evaluate",
        "--model",
        str(tiny_model_dir),
        "--datasets",
        "stsb",
        "--data-dir",
        str(tmp_path / "data"),
        "--n-resamples",
        "20",
        "--output",
        str(out),
        "-q",
    ]
    assert main(argv) == 0
    record = json.loads(out.read_text())["results"][0]
    assert record["n_pairs"] == 6 and record["split"] == "test"
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    from scipy.stats import spearmanr

    expected = 100 * spearmanr(model.similarity([r[0] for r in rows], [r[1] for r in rows]), [r[2] for r in rows])[0]
    assert record["metrics"]["cosine_spearman"] == pytest.approx(expected, abs=1e-6)
    assert "cosine_spearman" in capsys.readouterr().out
