"""Re-ranking mined pairs with a cross-encoder (``textsiam.mining.rerank_pairs``): the order is the cross-encoder's,
both scores are kept, the threshold filters, the texts may come back any way, errors are named."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from cross_encoders import FakeCrossEncoder, make_sigmoid_multi_label_cross_encoder, make_tiny_cross_encoder
from reranking import TEXTS, spread_cross_encoder

pytest.importorskip("faiss")

from textsiam.mining import MiningResult, mine_duplicates, mine_embeddings, rerank_pairs  # noqa: E402
from textsiam.mining.rerank import SCORING_LOGGER, check_reranker, fuse_scores, pair_texts  # noqa: E402


@pytest.fixture(scope="module")
def cross_encoder(default_tokenizer):
    return spread_cross_encoder(default_tokenizer)


@pytest.fixture
def mined(tiny_model) -> MiningResult:
    """Every text's 4 nearest others, whatever their score: some 20 candidate pairs."""
    return mine_duplicates(TEXTS, tiny_model, threshold=-1.0, top_k=4, precision="float32")


def predicted(model, result: MiningResult, **kwargs) -> np.ndarray:
    return np.asarray(model.predict([(TEXTS[i], TEXTS[j]) for i, j in result.pairs.tolist()], **kwargs))


# ---------------------------------------------------------------------------------------------- order and scores
def test_the_order_is_the_cross_encoders_and_both_scores_are_kept(mined, cross_encoder):
    before = (mined.pairs.copy(), mined.scores.copy())
    reranked = rerank_pairs(mined, TEXTS, cross_encoder, chunk_size=3, batch_size=2)
    expected = predicted(cross_encoder, mined)  # one call over all the candidates, as the model scores them
    order = np.argsort(-expected, kind="stable")
    assert len(mined) > 10 and np.diff(np.sort(expected)).min() > 1e-5  # no near ties: one order is right
    np.testing.assert_array_equal(reranked.pairs, mined.pairs[order])
    np.testing.assert_allclose(reranked.rerank_scores, expected[order], atol=1e-6)
    assert reranked.rerank_scores.dtype == np.float32 and np.all(np.diff(reranked.rerank_scores) <= 0)
    twin = {tuple(p): s for p, s in zip(mined.pairs.tolist(), mined.scores.tolist(), strict=True)}
    assert reranked.scores.tolist() == [twin[tuple(p)] for p in reranked.pairs.tolist()]  # each pair's own score
    assert reranked.neighbours is mined.neighbours and reranked.neighbour_scores is mined.neighbour_scores
    np.testing.assert_array_equal(mined.pairs, before[0])  # the run's result is left as it was
    np.testing.assert_array_equal(mined.scores, before[1])
    assert mined.rerank_scores is None and "rerank_s" not in mined.stats
    stats = reranked.stats
    assert stats["n_candidates"] == stats["n_pairs"] == len(mined) and stats["rerank_threshold"] is None
    assert stats["rerank_score"] == "predict() output" and stats["rerank_s"] >= 0
    assert stats["n_texts"] == len(TEXTS) and stats["index_factory"] == mined.stats["index_factory"]
    df = reranked.to_dataframe(TEXTS)
    assert list(df.columns) == ["i", "j", "score", "rerank_score", "text_a", "text_b"]
    assert df["text_a"].tolist() == [TEXTS[i] for i in reranked.pairs[:, 0].tolist()]
    assert "re-ranked by" in repr(reranked) and "re-ranked" not in repr(mined)
    assert reranked.fused_scores is None and stats["rerank_twin_weight"] == 0.0


# ---------------------------------------------------------------------------------------------- mixing in the twin
def z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def test_a_twin_weight_orders_by_the_mix_of_both_standardised_scores(mined, cross_encoder):
    ce = predicted(cross_encoder, mined).astype(np.float64)
    twin = mined.scores.astype(np.float64)
    reranked = rerank_pairs(mined, TEXTS, cross_encoder, twin_weight=0.4, chunk_size=5)
    key = 0.6 * z(ce) + 0.4 * z(twin)
    order = np.argsort(-key, kind="stable")
    # the mix is neither model's order, so the test tells the weight's use apart from either score alone
    assert not np.array_equal(order, np.argsort(-ce, kind="stable")) and not np.array_equal(order, np.arange(len(ce)))
    np.testing.assert_array_equal(reranked.pairs, mined.pairs[order])
    np.testing.assert_allclose(reranked.fused_scores, key[order], atol=1e-5)
    np.testing.assert_allclose(reranked.rerank_scores, ce[order], atol=1e-6)  # still the cross-encoder's score
    assert reranked.fused_scores.dtype == np.float32 and reranked.stats["rerank_twin_weight"] == 0.4
    df = reranked.to_dataframe(TEXTS)
    assert list(df.columns) == ["i", "j", "score", "rerank_score", "fused_score", "text_a", "text_b"]
    twin_only = rerank_pairs(mined, TEXTS, cross_encoder, twin_weight=1)  # the twin tower's own order back
    np.testing.assert_array_equal(twin_only.pairs, mined.pairs)
    again = rerank_pairs(reranked, TEXTS, cross_encoder)  # re-ranked again by the cross-encoder alone
    assert again.fused_scores is None and again.stats["rerank_twin_weight"] == 0.0
    np.testing.assert_array_equal(again.pairs, mined.pairs[np.argsort(-ce, kind="stable")])


def test_with_a_twin_weight_the_threshold_still_reads_the_cross_encoders_score(mined, cross_encoder):
    ce = predicted(cross_encoder, mined)
    threshold = float(np.sort(ce)[len(ce) // 2])
    reranked = rerank_pairs(mined, TEXTS, cross_encoder, threshold=threshold, twin_weight=0.5)
    assert len(reranked) == int((ce >= threshold).sum()) and (reranked.rerank_scores >= threshold).all()
    assert np.all(np.diff(reranked.fused_scores) <= 0)  # the kept pairs in the mixed order


def test_fuse_scores_standardises_each_score_over_the_candidates():
    twin, rerank = np.array([0.9, 0.8, 0.7]), np.array([10.0, 30.0, 20.0])
    np.testing.assert_allclose(fuse_scores(twin, rerank, 0.0), z(rerank))
    np.testing.assert_allclose(fuse_scores(twin, rerank, 0.25), 0.75 * z(rerank) + 0.25 * z(twin))
    np.testing.assert_allclose(fuse_scores(twin, rerank * 1000 + 5, 0.25), fuse_scores(twin, rerank, 0.25))
    np.testing.assert_allclose(fuse_scores(twin, np.full(3, 0.5), 0.5), 0.5 * z(twin))  # a constant score adds 0
    assert fuse_scores(np.zeros(0), np.zeros(0), 0.5).shape == (0,)
    with pytest.raises(ValueError, match="must be as long, got 3 and 2"):
        fuse_scores(twin, rerank[:2], 0.5)
    with pytest.raises(ValueError, match=r"twin_scores\[1\] is nan: scores must be finite to be standardised"):
        fuse_scores(np.array([0.9, np.nan, 0.7]), rerank, 0.5)  # else the twin tower would drop out unseen
    with pytest.raises(ValueError, match=r"rerank_scores\[2\] is inf"):
        fuse_scores(twin, np.array([1.0, 2.0, np.inf]), 0.5)


def test_the_threshold_keeps_the_pairs_at_or_above_it(mined, cross_encoder):
    expected = predicted(cross_encoder, mined)
    threshold = float(np.sort(expected)[len(expected) // 2])  # a score that occurs: ">=" keeps it
    reranked = rerank_pairs(mined, TEXTS, cross_encoder, threshold=threshold)
    keep = expected >= threshold
    assert 0 < keep.sum() < len(expected)
    assert sorted(map(tuple, reranked.pairs.tolist())) == sorted(map(tuple, mined.pairs[keep].tolist()))
    assert (reranked.rerank_scores >= threshold).all() and np.all(np.diff(reranked.rerank_scores) <= 0)
    assert reranked.stats["n_pairs"] == keep.sum() and reranked.stats["n_candidates"] == len(mined)
    assert reranked.stats["rerank_threshold"] == threshold
    assert len(rerank_pairs(mined, TEXTS, cross_encoder, threshold=2.0)) == 0  # above any sigmoid


def test_a_multi_label_head_scores_with_the_positive_labels_probability(mined, default_tokenizer):
    nli = make_tiny_cross_encoder(default_tokenizer, num_labels=3, id2label={0: "c", 1: "e", 2: "n"})
    with pytest.raises(ValueError, match=r"has 3 labels \(0: c, 1: e, 2: n\)"):
        rerank_pairs(mined, TEXTS, nli)
    with pytest.raises(ValueError, match="positive_label='x' is not a label of"):
        check_reranker(nli, "x")
    reranked = rerank_pairs(mined, TEXTS, nli, positive_label="e")
    probability = predicted(nli, mined, apply_softmax=True)[:, 1]
    np.testing.assert_array_equal(reranked.pairs, mined.pairs[np.argsort(-probability, kind="stable")])
    np.testing.assert_allclose(reranked.rerank_scores, np.sort(probability)[::-1], atol=1e-6)
    assert reranked.stats["rerank_score"] == "probability of label 1 (e) of 3 (softmax)"
    two = make_tiny_cross_encoder(default_tokenizer, num_labels=2)
    default = rerank_pairs(mined, TEXTS, two)  # label 1 of two, as textsiam evaluate takes it
    np.testing.assert_allclose(
        np.sort(default.rerank_scores), np.sort(predicted(two, mined, apply_softmax=True)[:, 1]), atol=1e-6
    )


def test_a_multi_label_sigmoid_head_reranks_by_its_own_output(mined, default_tokenizer):
    multi = make_sigmoid_multi_label_cross_encoder(default_tokenizer)
    reranked = rerank_pairs(mined, TEXTS, multi, chunk_size=5)
    sigmoid = predicted(multi, mined)[:, 1]  # the activated output, no softmax after the Sigmoid
    np.testing.assert_array_equal(reranked.pairs, mined.pairs[np.argsort(-sigmoid, kind="stable")])
    np.testing.assert_allclose(reranked.rerank_scores, np.sort(sigmoid)[::-1], atol=1e-6)
    assert reranked.stats["rerank_score"] == "output of label 1 (LABEL_1) of 2 (activation Sigmoid, no softmax)"
    assert check_reranker(multi) == reranked.stats["rerank_score"]


# ---------------------------------------------------------------------------------------------- texts and chunks
def test_texts_may_be_a_list_an_array_or_read_once(mined, cross_encoder):
    reference = rerank_pairs(mined, TEXTS, cross_encoder)
    read = []

    def lines():
        for text in TEXTS:
            read.append(text)
            yield text

    for texts in (np.array(TEXTS, dtype=object), lines(), tuple(TEXTS)):
        other = rerank_pairs(mined, texts, cross_encoder)
        np.testing.assert_array_equal(other.pairs, reference.pairs)
        np.testing.assert_allclose(other.rerank_scores, reference.rerank_scores, atol=1e-6)
    assert read == TEXTS  # the generator was read once, in order
    kept = pair_texts(mined.pairs, len(TEXTS), iter(TEXTS))
    in_pairs = set(mined.pairs.ravel().tolist())
    assert kept.tolist() == [t if i in in_pairs else None for i, t in enumerate(TEXTS)]


def test_pairs_are_scored_a_chunk_at_a_time_and_quietly(mined, capsys, caplog):
    fake = FakeCrossEncoder()
    with caplog.at_level(logging.INFO, logger="textsiam"):
        reranked = rerank_pairs(mined, TEXTS, fake, chunk_size=4)
    assert [len(call) for call in fake.calls] == [4] * (len(mined) // 4) + ([len(mined) % 4] if len(mined) % 4 else [])
    scored = [pair for call in fake.calls for pair in call]
    assert scored == [(TEXTS[i], TEXTS[j]) for i, j in mined.pairs.tolist()]
    overlap = np.array([FakeCrossEncoder.overlap(a, b) for a, b in scored], dtype=np.float32)
    np.testing.assert_array_equal(reranked.rerank_scores, overlap[np.argsort(-overlap, kind="stable")])
    assert capsys.readouterr().err == ""  # fewer pairs than a progress bar is shown for
    messages = [r.getMessage() for r in caplog.records]
    # one line for the whole re-ranking, with its cost; no line per chunk from the scoring helper
    assert [m for m in messages if m.startswith("re-ranked")] == [
        f"re-ranked {len(mined)} candidate pairs with fake-cross-encoder in "
        f"{reranked.stats['rerank_s']:.1f} s ({1000 * reranked.stats['rerank_s'] / len(mined):.2f} s per 1,000 "
        "candidates)"
    ]
    assert not [r for r in caplog.records if r.name == SCORING_LOGGER]
    assert logging.getLogger(SCORING_LOGGER).level == logging.NOTSET  # its level is restored
    rerank_pairs(mined, TEXTS, fake, show_progress_bar=True)
    assert "Re-ranking" in capsys.readouterr().err


def test_embeddings_mined_elsewhere_and_empty_runs(cross_encoder):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((len(TEXTS), 8)).astype(np.float32)
    result = mine_embeddings(emb, threshold=-1.0, top_k=2, precision="float32")
    reranked = rerank_pairs(result, TEXTS, cross_encoder)
    assert len(reranked) == len(result) and np.all(np.diff(reranked.rerank_scores) <= 0)
    fake = FakeCrossEncoder()
    nothing = rerank_pairs(mine_embeddings(emb, threshold=1.0, top_k=2), TEXTS, fake)
    assert len(nothing) == 0 and nothing.rerank_scores.shape == (0,) and fake.calls == []


# ---------------------------------------------------------------------------------------------- errors
def test_bad_arguments_are_named(mined, cross_encoder, tiny_model):
    with pytest.raises(TypeError, match="re-ranking needs a cross-encoder .* got SiameseModel"):
        rerank_pairs(mined, TEXTS, tiny_model)
    with pytest.raises(TypeError, match="result must be a MiningResult"):
        rerank_pairs(mined.pairs, TEXTS, cross_encoder)
    with pytest.raises(ValueError, match="texts holds 3 texts, but 12 were mined"):
        rerank_pairs(mined, TEXTS[:3], cross_encoder)
    with pytest.raises(ValueError, match="texts holds 13 texts, but 12 were mined"):
        rerank_pairs(mined, iter([*TEXTS, "one more"]), cross_encoder)
    bad = list(TEXTS)
    row = int(mined.pairs[0, 1])
    bad[row] = None
    with pytest.raises(TypeError, match=rf"texts\[{row}\] is None \(use '' for an empty text\)"):
        rerank_pairs(mined, bad, cross_encoder)
    with pytest.raises(TypeError, match=r"texts\[2\] is int; expected a string"):
        rerank_pairs(mined, iter([*TEXTS[:2], 3, *TEXTS[3:]]), cross_encoder)
    with pytest.raises(TypeError, match="texts must be an iterable of strings, got None"):
        rerank_pairs(mined, None, cross_encoder)
    with pytest.raises(TypeError, match="texts must be an iterable of strings, not a single bytes"):
        rerank_pairs(mined, b"twelve bytes", cross_encoder)
    with pytest.raises(ValueError, match="threshold must be a finite number or None, got nan"):
        rerank_pairs(mined, TEXTS, cross_encoder, threshold=float("nan"))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        rerank_pairs(mined, TEXTS, cross_encoder, batch_size=0)
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1"):
        rerank_pairs(mined, TEXTS, cross_encoder, chunk_size=0)
    with pytest.raises(TypeError, match="show_progress_bar must be True, False or None"):
        rerank_pairs(mined, TEXTS, cross_encoder, show_progress_bar="yes")
    for weight in (-0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match=r"twin tower's weight in the re-ranking must be a number in \[0, 1\]"):
            rerank_pairs(mined, TEXTS, cross_encoder, twin_weight=weight)
