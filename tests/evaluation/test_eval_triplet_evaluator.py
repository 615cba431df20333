"""TripletEvaluator: hand-computed accuracies, margins, ties, CIs, and the numbers of sentence-transformers'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from textsiam.evaluation import TripletEvaluator, compare
from textsiam.evaluation.metrics import DEFAULT_SIMILARITIES

from .helpers import HashingEncoder, LookupEncoder

#: Each triplet decides differently: (1) right for every similarity; (2) wrong for every one; (3) a tie (positive
#: and negative share a vector): wrong, the inequality is strict; (4) right for cosine and dot (same direction,
#: longer), wrong for the distances (|a - p| = 9 > |a - n| = 0.5).
VECTORS = {
    "a": [1.0, 0.0],
    "p1": [1.0, 0.1],
    "n1": [0.0, 1.0],
    "p2": [0.0, 1.0],
    "n2": [1.0, 0.1],
    "p3": [1.0, 1.0],
    "n3": [1.0, 1.0],
    "p4": [10.0, 0.0],
    "n4": [1.0, 0.5],
}
TRIPLETS = [("a", "p1", "n1"), ("a", "p2", "n2"), ("a", "p3", "n3"), ("a", "p4", "n4")]
EXPECTED = {"cosine_accuracy": 50.0, "dot_accuracy": 50.0, "euclidean_accuracy": 25.0, "manhattan_accuracy": 25.0}


@pytest.fixture
def model():
    return LookupEncoder(VECTORS)


def test_accuracy_per_similarity_by_hand(model):
    evaluator = TripletEvaluator(TRIPLETS, n_resamples=0)
    assert evaluator(model) == EXPECTED
    assert evaluator.primary_metric == "cosine_accuracy" and evaluator.task == "triplet"
    record = evaluator.evaluate(LookupEncoder(VECTORS, similarity_fn_name="euclidean"))
    assert record["primary_metric"] == "euclidean_accuracy" and record["primary_value"] == 25.0
    assert record["n_pairs"] == 4 and record["n_unique_texts"] == 9 and record["margin"] == 0.0
    assert record["main_metrics"] == ["euclidean_accuracy", "cosine_accuracy", "dot_accuracy", "manhattan_accuracy"]
    assert record["notes"][0].startswith("only 4 triplets (fewer than 30)")


def test_one_encode_call_for_every_distinct_text(model):
    TripletEvaluator(TRIPLETS, n_resamples=0)(model)
    assert len(model.calls) == 1 and sorted(model.calls[0]) == sorted(VECTORS)


def test_margins(model):
    # cosine: (1) 0.995 > 0 + 0.5, (4) 1 > 0.894 + 0.5 is not: 1 of 4
    assert TripletEvaluator(TRIPLETS, margin=0.5, n_resamples=0)(model)["cosine_accuracy"] == 25.0
    # dot with a margin of 5: (4) 10 > 1 + 5, (1) 1 > 0 + 5 is not; the other similarities keep a margin of 0
    metrics = TripletEvaluator(TRIPLETS, margin={"dot": 5}, n_resamples=0)(model)
    assert metrics["dot_accuracy"] == 25.0 and metrics["cosine_accuracy"] == 50.0
    # a negative margin forgives the tie (3) and nothing else: -0.1 cannot save (2) (0 vs 0.995)
    assert TripletEvaluator(TRIPLETS, margin=-0.1, n_resamples=0)(model)["cosine_accuracy"] == 75.0


def test_bad_margins_and_tables():
    with pytest.raises(ValueError, match="unknown similarity function 'cos'"):
        TripletEvaluator(TRIPLETS, margin={"cos": 0.1})
    with pytest.raises(ValueError, match="margin must be finite"):
        TripletEvaluator(TRIPLETS, margin=float("nan"))
    with pytest.raises(TypeError, match="margin must be a number"):
        TripletEvaluator(TRIPLETS, margin="0.1")
    with pytest.raises(ValueError, match=r"triplet task evaluates \(anchor, positive, negative\) triplets.*'sts'"):
        TripletEvaluator({"sentence1": ["a"], "sentence2": ["b"], "score": [0.5]})
    with pytest.raises(ValueError, match=r"these are \(anchor, positive\) pairs .*task='paired_retrieval'"):
        TripletEvaluator([("a", "b")], name="mine")


def test_every_table_type_gives_the_same_numbers(model):
    columns = {"anchor": [t[0] for t in TRIPLETS], "positive": [t[1] for t in TRIPLETS]}
    columns["negative"] = [t[2] for t in TRIPLETS]
    canonical = {"text_a": columns["anchor"], "text_b": columns["positive"], "text_c": columns["negative"]}
    with_label = pd.DataFrame({**columns, "label": [1, 1, 1, 1]})  # an extra column of ST triplets is ignored
    for table in (columns, pd.DataFrame(columns), canonical, with_label, [list(t) for t in TRIPLETS]):
        assert TripletEvaluator(table, n_resamples=0)(model) == EXPECTED


def test_confidence_interval_over_triplets():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    triplets = []
    for _ in range(60):  # the positive shares 1-3 words with the anchor, the negative 0-2
        w = list(rng.choice(words, size=12, replace=False))
        k, j = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        triplets.append((" ".join(w[:4]), " ".join(w[:k] + w[4 : 8 - k]), " ".join(w[:j] + w[8 : 12 - j])))
    record = TripletEvaluator(triplets, n_resamples=200, similarities=["cosine"]).evaluate(HashingEncoder())
    ci = record["ci"]["cosine_accuracy"]
    assert list(record["ci"]) == ["cosine_accuracy"] and ci["low"] <= record["primary_value"] <= ci["high"]
    assert ci["low"] < ci["high"] and "notes" not in record
    assert list(record["metrics"]) == ["cosine_accuracy"] and 0 < record["primary_value"] < 100


def test_primary_inputs_and_compare(model):
    evaluator = TripletEvaluator(TRIPLETS, n_resamples=0)
    primary = evaluator.primary_inputs(model)
    assert primary.gold.tolist() == [1, 1, 1, 1] and primary.values.tolist() == [1, 0, 0, 1]
    assert evaluator.primary_fn(primary.gold, primary.values) == 50.0
    euclidean = LookupEncoder(VECTORS, similarity_fn_name="euclidean")
    out = compare(model, euclidean, "custom", pairs=TRIPLETS, n_resamples=50)
    assert out["task"] == "triplet" and out["value_a"] == 50.0 and out["value_b"] == 25.0
    assert out["difference"] == -25.0 and out["n_pairs"] == 4


@pytest.fixture(scope="module")
def st_model(tiny_model_dir):
    """The tiny random BERT of the suite, loaded by sentence-transformers itself."""
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer(str(tiny_model_dir), device="cpu")


ST_TRIPLETS = [
    ("A man is playing a guitar.", "A person plays the guitar.", "Stocks fell sharply on Monday."),
    ("The cat sits on the mat.", "A cat is sitting on a rug.", "How do I learn Python quickly?"),
    ("Stocks fell sharply on Monday.", "Markets dropped at the start of the week.", "The cat sits on the mat."),
    ("How do I learn Python quickly?", "What is the fastest way to learn Python?", "A man is playing a guitar."),
    ("It is raining in London.", "London has rain today.", "The sun is shining in Madrid."),
    ("A child is riding a bike.", "A kid rides a bicycle.", "A woman is cooking pasta."),
    ("The train was late again.", "Again the train arrived late.", "The plane landed on time."),
    ("She reads a book.", "A woman is reading.", "He plays football."),
]


def test_same_accuracies_as_sentence_transformers_triplet_evaluator(st_model, tiny_model_dir):
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator as STTripletEvaluator

    from textsiam.model.siamese import SiameseModel

    anchors, positives, negatives = (list(col) for col in zip(*ST_TRIPLETS, strict=True))
    sims = list(DEFAULT_SIMILARITIES)
    for margin in (0.0, 0.01):
        theirs = STTripletEvaluator(anchors, positives, negatives, similarity_fn_names=sims, margin=margin)(st_model)
        ours = TripletEvaluator(ST_TRIPLETS, margin=margin, n_resamples=0, similarities=sims)
        for model in (st_model, SiameseModel.from_pretrained(tiny_model_dir, device="cpu")):
            metrics = ours(model)
            for sim in sims:
                assert metrics[f"{sim}_accuracy"] == pytest.approx(100 * theirs[f"{sim}_accuracy"], abs=1e-9), sim
    # a random model does not get everything right or wrong, so the comparison above means something
    assert 0 < TripletEvaluator(ST_TRIPLETS, n_resamples=0)(st_model)["cosine_accuracy"] < 100
    # ties (negative = positive) are misses for both
    tied = STTripletEvaluator(anchors, positives, positives, similarity_fn_names=sims)(st_model)
    assert all(tied[f"{sim}_accuracy"] == 0.0 for sim in sims)
    ours_tied = TripletEvaluator(
        list(zip(anchors, positives, positives, strict=True)), n_resamples=0, similarities=sims
    )
    assert ours_tied(st_model) == {f"{sim}_accuracy": 0.0 for sim in sims}
