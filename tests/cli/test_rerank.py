"""``textsiam rerank`` (rank documents for a query, score a file of pairs) and ``textsiam evaluate`` on a
cross-encoder folder, end to end on a tiny random cross-encoder saved once per module."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cross_encoders import make_sigmoid_multi_label_cross_encoder, make_tiny_cross_encoder
from scipy.stats import spearmanr

from textsiam.cli import common, main
from textsiam.model.cross_encoder import CrossEncoder

QUERY = "how do I learn python"
DOCUMENTS = [
    "Python is learned best by writing small programs.",
    "Stocks fell sharply on Monday.",
    "A cat sits on the mat.",
    "",
    "Learn Python in a month with daily exercises.",
]


@pytest.fixture(scope="module")
def ce_dir(tmp_path_factory, default_tokenizer) -> Path:
    """A tiny random cross-encoder (one label) saved as sentence-transformers' layout."""
    path = tmp_path_factory.mktemp("cross") / "ce"
    make_tiny_cross_encoder(default_tokenizer, seed=3).save(path)
    return path


@pytest.fixture(scope="module")
def ce(ce_dir) -> CrossEncoder:
    return CrossEncoder(ce_dir, device="cpu")


@pytest.fixture
def docs_txt(tmp_path) -> Path:
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(DOCUMENTS) + "\n", encoding="utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def read_tsv(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


# ---------------------------------------------------------------------------------------------- ranking
def test_rank_documents_as_model_rank_does(ce_dir, ce, docs_txt, capsys):
    code, out, err = run(["rerank", str(ce_dir), "--query", QUERY, "--documents", str(docs_txt), "-q"], capsys)
    assert code == 0 and err == ""
    rows = read_tsv(out)
    assert rows[0] == ["rank", "corpus_id", "score", "text"] and len(rows) == 1 + len(DOCUMENTS)
    expected = ce.rank(QUERY, DOCUMENTS, return_documents=True)
    assert [int(r[1]) for r in rows[1:]] == [e["corpus_id"] for e in expected]
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], [e["score"] for e in expected], atol=1e-6)
    assert [r[3] for r in rows[1:]] == [e["text"] for e in expected]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, len(DOCUMENTS) + 1))


def test_rank_top_k_from_a_csv_column_to_json(ce_dir, ce, tmp_path, capsys):
    table = tmp_path / "docs.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "passage"])
        writer.writerows([(f"d{i}", text) for i, text in enumerate(DOCUMENTS)])
    out = tmp_path / "ranked.json"
    argv = ["rerank", str(ce_dir), "--query", QUERY, "--documents", str(table), "--top-k", "2", "-o", str(out), "-q"]
    assert run(argv, capsys) == (0, "", "")
    ranked = json.loads(out.read_text(encoding="utf-8"))
    expected = ce.rank(QUERY, DOCUMENTS, top_k=2, return_documents=True)
    assert [{k: r[k] for k in ("corpus_id", "text")} for r in ranked] == [
        {k: e[k] for k in ("corpus_id", "text")} for e in expected
    ]
    assert [r["rank"] for r in ranked] == [1, 2]
    assert [r["score"] for r in ranked] == pytest.approx([e["score"] for e in expected], abs=1e-6)
    # a table of several columns, none named as documents usually are: say which to name
    other = tmp_path / "other.csv"
    other.write_text("a,b\nx,y\n", encoding="utf-8")
    code, _, err = run(["rerank", str(ce_dir), "--query", QUERY, "--documents", str(other), "-q"], capsys)
    assert code == 2 and "has the columns ['a', 'b']: name the one with the documents with --document-column" in err


def test_rank_jsonl_documents_with_a_named_column_to_csv(ce_dir, ce, tmp_path, capsys):
    table = tmp_path / "docs.jsonl"
    table.write_text("".join(json.dumps({"body": d, "n": i}) + "\n" for i, d in enumerate(DOCUMENTS)), encoding="utf-8")
    out = tmp_path / "ranked.csv"
    argv = ["rerank", str(ce_dir), "--query", QUERY, "--documents", str(table), "--document-column", "body"]
    assert run([*argv, "-o", str(out), "-q"], capsys)[0] == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected = ce.rank(QUERY, DOCUMENTS, return_documents=True)
    assert [(int(r["corpus_id"]), r["text"]) for r in rows] == [(e["corpus_id"], e["text"]) for e in expected]


# ---------------------------------------------------------------------------------------------- pairs
def write_pairs_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


PAIRS = [
    ("A man plays a guitar.", 'A man is playing a guitar, "loudly".'),
    ("A cat sits on the mat.", "Stocks fell sharply."),
    ("It rains.", "It rains.\tReally."),
]


def test_score_pairs_keeps_every_column_and_adds_a_score(ce_dir, ce, tmp_path, capsys):
    src = write_pairs_csv(
        tmp_path / "pairs.csv",
        ["id", "sentence1", "sentence2", "score"],
        [(i, a, b, 1.5) for i, (a, b) in enumerate(PAIRS)],
    )
    out = tmp_path / "scored.csv"
    code, _, err = run(["rerank", str(ce_dir), "--pairs", str(src), "-o", str(out), "-q"], capsys)
    assert code == 2 and "already has a column 'score': name the added column with --score-column" in err
    assert not out.exists()
    argv = ["rerank", str(ce_dir), "--pairs", str(src), "-o", str(out), "--score-column", "prediction", "-q"]
    assert run(argv, capsys) == (0, "", "")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "sentence1", "sentence2", "score", "prediction"]
    assert [(r["id"], r["sentence1"], r["sentence2"], r["score"]) for r in rows] == [
        (str(i), a, b, "1.5") for i, (a, b) in enumerate(PAIRS)
    ]
    np.testing.assert_allclose([float(r["prediction"]) for r in rows], ce.predict(PAIRS), atol=1e-6)
    # never over an existing file without --overwrite; with it, the file is replaced
    code, _, err = run(argv, capsys)
    assert code == 2 and "already exists; pass --overwrite" in err
    assert run([*argv, "--overwrite"], capsys)[0] == 0


def test_score_jsonl_pairs_keeps_the_values_as_read(ce_dir, ce, tmp_path, capsys):
    src = tmp_path / "pairs.jsonl"
    records = [{"query": a, "document": b, "id": i, "meta": None} for i, (a, b) in enumerate(PAIRS)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    assert run(["rerank", str(ce_dir), "--pairs", str(src), "-o", str(out), "-q"], capsys)[0] == 0
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in r.items() if k != "score"} for r in scored] == records
    np.testing.assert_allclose([r["score"] for r in scored], ce.predict(PAIRS), atol=1e-6)


def test_score_pairs_to_stdout_as_tsv_with_named_columns(ce_dir, ce, tmp_path, capsys):
    src = tmp_path / "pairs.tsv"
    src.write_text("left\tright\n" + "".join(f"{a}\t{b}\n" for a, b in PAIRS[:2]), encoding="utf-8")
    argv = ["rerank", str(ce_dir), "--pairs", str(src), "--text-a-column", "left", "--text-b-column", "right", "-q"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    rows = read_tsv(out)
    assert rows[0] == ["left", "right", "score"] and [r[:2] for r in rows[1:]] == [list(p) for p in PAIRS[:2]]
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], ce.predict(PAIRS[:2]), atol=1e-6)


def test_a_triplet_file_needs_its_two_columns_named(ce_dir, ce, tmp_path, capsys):
    src = write_pairs_csv(tmp_path / "triplets.csv", ["anchor", "positive", "negative"], [("a b", "a c", "x y")])
    code, _, err = run(["rerank", str(ce_dir), "--pairs", str(src), "-q"], capsys)
    assert code == 2 and "holds (anchor, positive, negative) triplets: name the two columns" in err
    argv = ["rerank", str(ce_dir), "--pairs", str(src), "--text-a-column", "anchor", "--text-b-column", "negative"]
    code, out, _ = run([*argv, "-q"], capsys)
    assert code == 0 and float(read_tsv(out)[1][3]) == pytest.approx(float(ce.predict(("a b", "x y"))), abs=1e-6)


def test_an_output_is_renamed_into_place_and_kept_without_overwrite(ce_dir, docs_txt, tmp_path, monkeypatch, capsys):
    """docs/reliability.md, "Command-line outputs": as for the other commands."""
    out = tmp_path / "ranked.jsonl"
    argv = ["rerank", str(ce_dir), "--query", QUERY, "--documents", str(docs_txt), "-o", str(out), "-q"]
    links: list[tuple[Path, Path]] = []
    real_link = os.link

    def spy(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        links.append((Path(src), Path(dst)))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", spy)
    assert run(argv, capsys)[0] == 0
    temp_name = re.compile(rf"^\.{re.escape(out.name)}\.{os.getpid()}\.[0-9a-f]+\.tmp$")
    assert any(dst == out and temp_name.match(src.name) for src, dst in links), links
    first = out.read_bytes()
    assert len(first.splitlines()) == len(DOCUMENTS)
    out.write_bytes(b"the previous output")
    code, _, err = run(argv, capsys)
    assert code == 2 and "already exists" in err and out.read_bytes() == b"the previous output"
    assert run([*argv, "--overwrite"], capsys)[0] == 0 and out.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------------------------- errors
def never_load(args):  # noqa: ANN001, ANN201
    raise AssertionError("the model must not load")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give --query Q and --documents FILE to rank documents, or --pairs FILE to score pairs"),
        (["--query", "q"], "give --query Q and --documents FILE"),
        (["--query", "q", "--documents", "DOCS", "--pairs", "DOCS"], "not both"),
        (["--pairs", "DOCS", "--top-k", "2"], "--top-k applies to --query/--documents, not to --pairs"),
        (["--query", "q", "--documents", "DOCS", "--score-column", "s"], "--score-column applies to --pairs"),
        (["--query", "q", "--documents", "DOCS", "-o", "out.parquet"], "cannot tell the output format of out.parquet"),
        (["--query", "q", "--documents", "DOCS", "-o", "DOCS"], "writing it would replace the input"),
        (["--query", "q", "--documents", "missing.txt"], "missing.txt"),
        (["--query", "q", "--documents", "DOCS", "--document-column", "x"], "--document-column applies to a"),
    ],
)
def test_bad_arguments_fail_before_the_model_loads(extra, message, docs_txt, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_cross_encoder", never_load)
    argv = ["rerank", "some-model", *[str(docs_txt) if a == "DOCS" else a for a in extra], "-q"]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("textsiam rerank: error: ") and message in err, err


def test_the_model_is_given_once(ce_dir, docs_txt, monkeypatch, capsys):
    code, out, _ = run(["rerank", "-m", str(ce_dir), "--query", QUERY, "--documents", str(docs_txt), "-q"], capsys)
    assert code == 0 and len(read_tsv(out)) == 1 + len(DOCUMENTS)  # --model as the other commands take it
    monkeypatch.setattr(common, "load_cross_encoder", never_load)
    code, _, err = run(["rerank", "--query", QUERY, "--documents", str(docs_txt)], capsys)
    assert code == 2 and "give the cross-encoder to score with: textsiam rerank MODEL" in err
    code, _, err = run(["rerank", "a", "-m", "b", "--query", QUERY, "--documents", str(docs_txt)], capsys)
    assert code == 2 and "as MODEL or as --model, not both" in err


def test_a_twin_tower_is_no_cross_encoder(tiny_model_dir, docs_txt, capsys):
    code, _, err = run(["rerank", str(tiny_model_dir), "--query", QUERY, "--documents", str(docs_txt), "-q"], capsys)
    assert code == 2 and err.startswith(f"textsiam rerank: error: {tiny_model_dir} is not a cross-encoder")


def test_three_labels_need_positive_label(default_tokenizer, tmp_path, docs_txt, capsys):
    folder = tmp_path / "nli"
    model = make_tiny_cross_encoder(default_tokenizer, num_labels=3, id2label={0: "c", 1: "e", 2: "n"})
    model.save(folder)
    argv = ["rerank", str(folder), "--query", QUERY, "--documents", str(docs_txt), "-q"]
    code, _, err = run(argv, capsys)
    assert code == 2 and "has 3 labels (0: c, 1: e, 2: n)" in err and "--positive-label" in err
    code, out, _ = run([*argv, "--positive-label", "e"], capsys)
    assert code == 0
    probability = model.predict([(QUERY, d) for d in DOCUMENTS], apply_softmax=True)[:, 1]
    rows = read_tsv(out)[1:]
    assert [int(r[1]) for r in rows] == np.argsort(-probability, kind="stable").tolist()


def test_a_multi_label_sigmoid_head_scores_by_its_own_output(default_tokenizer, tmp_path, capsys):
    folder = tmp_path / "multi"
    model = make_sigmoid_multi_label_cross_encoder(default_tokenizer)
    model.save(folder)  # the folder names the Sigmoid: the loaded model applies it
    pairs = [(QUERY, d) for d in DOCUMENTS if d]
    src = write_pairs_csv(tmp_path / "pairs.csv", ["text_a", "text_b"], pairs)
    out = tmp_path / "scored.csv"
    code, _, err = run(["rerank", str(folder), "--pairs", str(src), "-o", str(out), "-q"], capsys)
    assert code == 0 and err == ""
    with open(out, newline="", encoding="utf-8") as fh:
        scored = [float(row["score"]) for row in csv.DictReader(fh)]
    np.testing.assert_allclose(scored, model.predict(pairs)[:, 1], atol=1e-6)  # sigmoid, not softmax(sigmoid)


@pytest.mark.parametrize("command", ["rerank", "evaluate"])
def test_a_config_field_of_the_wrong_type_is_one_line_exit_2(ce_dir, docs_txt, tmp_path, capsys, command):
    import shutil

    folder = Path(shutil.copytree(ce_dir, tmp_path / "bad"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "hidden_size": "x"}), encoding="utf-8")
    if command == "rerank":
        argv = ["rerank", str(folder), "--query", QUERY, "--documents", str(docs_txt), "-q"]
    else:
        pairs = write_pairs_csv(tmp_path / "p.csv", ["sentence1", "sentence2", "score"], [("a b", "a c", 1.0)] * 4)
        argv = ["evaluate", "-m", str(folder), "--pairs", str(pairs), "--n-resamples", "0", "-q"]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith(f"textsiam {command}: error: "), err
    assert "config.json" in err and "hidden_size" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------- evaluate
def test_evaluate_detects_a_cross_encoder_folder(ce_dir, ce, tiny_model_dir, tmp_path, capsys):
    assert common.is_cross_encoder_model(ce_dir)
    assert not common.is_cross_encoder_model(tiny_model_dir) and not common.is_cross_encoder_model(None)
    assert not common.is_cross_encoder_model(tmp_path / "missing") and not common.is_cross_encoder_model("org/absent")
    rows = [(f"w{i} w{i + 1} w{i + 2}", f"w{i} w{i + 1} x{i}", float(i % 5)) for i in range(12)]
    src = write_pairs_csv(tmp_path / "mine.csv", ["sentence1", "sentence2", "score"], rows)
    out = tmp_path / "results.json"
    argv = ["evaluate", "-m", str(ce_dir), "--pairs", str(src), "--n-resamples", "0", "-o", str(out), "-q"]
    code, printed, _ = run(argv, capsys)
    assert code == 0 and "cross_encoder_spearman" in printed
    record = json.loads(out.read_text(encoding="utf-8"))["results"][0]
    scores = ce.predict([r[:2] for r in rows])
    assert record["primary_value"] == pytest.approx(100 * spearmanr(scores, [r[2] for r in rows])[0], abs=1e-4)
    assert record["cross_encoder"]["num_labels"] == 1


def test_evaluate_refuses_a_retrieval_file_for_a_cross_encoder(ce_dir, tmp_path, capsys):
    src = write_pairs_csv(tmp_path / "ap.csv", ["anchor", "positive"], [("a b", "a c"), ("c d", "c e")])
    code, _, err = run(["evaluate", "-m", str(ce_dir), "--pairs", str(src), "--n-resamples", "0", "-q"], capsys)
    assert code == 2 and "task 'paired_retrieval' ranks texts by their embeddings" in err
    code, _, err = run(["evaluate", "-m", str(ce_dir), "--pairs", str(src), "--backend", "onnx", "-q"], capsys)
    assert code == 2 and "--backend applies to twin towers" in err


# ---------------------------------------------------------------------------------------------- a real process
@pytest.mark.slow  # a subprocess that imports torch
def test_rerank_in_a_process(ce_dir, ce, docs_txt, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    out = tmp_path / "top.tsv"
    argv = [sys.executable, "-m", "textsiam", "rerank", str(ce_dir), "--query", QUERY, "--documents", str(docs_txt)]
    proc = subprocess.run([*argv, "-k", "3", "-o", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count(f"wrote the best 3 to {out}") == 1, proc.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8")), delimiter="\t"))
    assert [int(r[1]) for r in rows[1:]] == [e["corpus_id"] for e in ce.rank(QUERY, DOCUMENTS, top_k=3)]
    proc = subprocess.run([*argv, "-o", str(out), "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("textsiam rerank: error:") and "--overwrite" in proc.stderr
