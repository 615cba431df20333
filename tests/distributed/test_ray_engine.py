"""``textsiam encode/score --engine ray``: Ray Data on a local 2-CPU Ray cluster equals the single process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from textsiam import SiameseModel
from textsiam.cli import main

pytestmark = pytest.mark.xdist_group("ray")  # one Ray cluster per session, on one xdist worker

TEXTS = [
    "A man is playing a guitar.",
    "A person plays the guitar.",
    "",  # an empty line is a text, as in the local engine
    "The cat sits on the mat.",
    "Stocks fell sharply on Monday.",
    "Ünïcödé, emoji 🎸 and\ttabs",
    "   ",
    "How do I learn Python quickly and well, starting from nothing at all? " * 20,  # truncated to max_seq_length
    "Short.",
]
PAIRS = [
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("The cat sits on the mat.", "Stocks fell sharply on Monday."),
    ("", "empty text on the left"),
    ("Ünïcödé 🎸", "Ünïcödé 🎸"),
    ("Short.", "A man is playing a guitar."),
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return SiameseModel.from_pretrained(tiny_model_dir, device="cpu")


@pytest.mark.slow
def test_encode_equals_single_process(ray_cluster, tiny_model_dir, tiny, tmp_path):
    from textsiam.distributed import encode_file, read_embeddings

    src = tmp_path / "texts.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "emb"
    # 3 lines per block: 3 blocks shared by a pool of 2 actors
    result = encode_file(src, out, tiny_model_dir, block_rows=3, batch_size=2, num_actors=2, show_progress=False)
    assert result == str(out) and sorted(p.suffix for p in out.iterdir()) == [".parquet"] * len(list(out.iterdir()))
    lines, emb = read_embeddings(out)
    np.testing.assert_array_equal(lines, np.arange(1, len(TEXTS) + 1))
    assert emb.dtype == np.float32 and emb.shape == (len(TEXTS), tiny.embedding_dim)
    np.testing.assert_allclose(emb, tiny.encode(TEXTS), atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the temporary folder was renamed

    with pytest.raises(FileExistsError, match="--overwrite"):  # before Ray does any work
        encode_file(src, out, tiny_model_dir, show_progress=False)


@pytest.mark.slow
def test_score_cli_equals_single_process(ray_cluster, tiny_model_dir, tiny, tmp_path, capsys):
    from textsiam.distributed import read_scores

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("text_a\ttext_b\n" + "".join(f"{a}\t{b}\n" for a, b in PAIRS), encoding="utf-8")
    out = tmp_path / "scores"
    argv = ["score", "--engine", "ray", "--pairs", str(pairs), "--output", str(out), "--model", str(tiny_model_dir)]
    assert main([*argv, "--ray-actors", "2", "--chunk-size", "2", "-q"]) == 0, capsys.readouterr().err
    df = read_scores(out)
    assert list(df.columns) == ["line", "text_a", "text_b", "score"]
    assert df["line"].tolist() == list(range(2, len(PAIRS) + 2))  # line 1 is the header
    assert list(zip(df["text_a"], df["text_b"], strict=True)) == PAIRS
    expected = tiny.similarity([a for a, _ in PAIRS], [b for _, b in PAIRS])
    np.testing.assert_allclose(df["score"].to_numpy(), expected, atol=1e-5)

    assert main(argv) == 2  # an existing output needs --overwrite
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_bad_line_names_file_and_line_and_leaves_no_output(ray_cluster, tiny_model_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\nc\td\nno tab here\n", encoding="utf-8")
    out = tmp_path / "scores"
    argv = ["score", "--engine", "ray", "--pairs", str(pairs), "-o", str(out), "-m", str(tiny_model_dir), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{pairs}:3: expected two tab-separated texts" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv"]  # no output, no temporary folder

    # a folder that is not a model fails in the actors' constructor: a one-line error too
    (tmp_path / "not_a_model").mkdir()
    argv = ["encode", str(pairs), "--engine", "ray", "-o", str(out), "-m", str(tmp_path / "not_a_model"), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "a Ray actor could not load the model: ValueError: Unrecognized model" in err, err[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_model", "pairs.tsv"]


def test_cli_checks_before_starting_ray(tmp_path, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("a\n", encoding="utf-8")
    assert main(["score", "a", "b", "--engine", "ray", "-o", str(tmp_path / "o")]) == 2
    assert "--pairs" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "old.parquet").write_bytes(b"")
    assert main(["encode", str(src), "--engine", "ray", "-o", str(tmp_path / "taken")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["encode", str(tmp_path / "nope.txt"), "--engine", "ray", "-o", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    src = tmp_path / "texts.txt"
    src.write_text("a\n", encoding="utf-8")
    assert main(["encode", str(src), "--engine", "ray", "-o", str(tmp_path / "emb")]) == 2
    assert 'pip install "textsiam[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "emb").exists()


def test_line_readers_match_the_local_engine(tmp_path):
    pytest.importorskip("ray")
    from textsiam.cli.common import read_lines as _read_lines
    from textsiam.cli.common import read_pairs as _read_pairs
    from textsiam.distributed.ray_datasource import iter_lines, iter_pairs

    path = tmp_path / "x.tsv"
    path.write_bytes("\ufefftext_a\ttext_b\r\nα\tβ\r\n\tempty left\n".encode())
    with open(path, "rb") as fh:
        assert list(iter_lines(fh, str(path))) == list(_read_lines(path))
    with open(path, "rb") as fh:
        assert list(iter_pairs(fh, str(path))) == list(_read_pairs(path))
    # a third field is an error in both engines, not silently dropped
    path.write_bytes(b"a\tb\nx\ty\tz\n")
    with open(path, "rb") as fh, pytest.raises(ValueError, match=r"x\.tsv:2: expected two .* found 3 fields"):
        list(iter_pairs(fh, str(path)))
    with pytest.raises(ValueError, match=r"x\.tsv:2: expected two .* found 3 fields"):
        list(_read_pairs(path))
    path.write_bytes(b"ok\n\xff\xfe\n")
    with open(path, "rb") as fh, pytest.raises(ValueError, match=r"x.tsv:2: not valid UTF-8"):
        list(iter_lines(fh, str(path)))


def test_overwrite_replaces_the_earlier_parquet_parts_and_keeps_other_files(tmp_path):
    """``--overwrite`` onto an earlier output folder: its parquet parts go, a user's file in it stays."""
    from textsiam.distributed.ray_engine import _output_dir

    out = tmp_path / "out"
    out.mkdir()
    (out / "part-0.parquet").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        with _output_dir(out, overwrite=False):
            pass
    with _output_dir(out, overwrite=True) as tmp:
        (Path(tmp) / "part-1.parquet").write_bytes(b"new")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "part-1.parquet"]
    assert (out / "notes.txt").read_text() == "mine"
