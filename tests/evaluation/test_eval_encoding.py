from __future__ import annotations

import numpy as np
import pytest

from textsiam.evaluation.encoding import encode_pairs, encode_unique, model_name
from textsiam.model.scoring import pairwise_similarity

from .helpers import HashingEncoder


def test_encode_unique_dedupes_in_first_seen_order():
    model = HashingEncoder()
    unique, emb, inverse = encode_unique(model, ["b", "a", "b", "c a"])
    assert unique == ["b", "a", "c a"] and inverse.tolist() == [0, 1, 0, 2]
    assert emb.shape == (3, model.dim) and emb.dtype == np.float32 and len(model.calls) == 1


def test_encode_pairs_scores_every_set_from_one_encode_call():
    model = HashingEncoder()
    test = (["w1 w2", "w3", "w1 w2"], ["w2", "w3 w4", "w5"])
    dev = (["w3", "w6"], ["w1 w2", "w6 w7"])
    encoded = encode_pairs(model, [test, dev], ["cosine", "dot"])
    assert len(model.calls) == 1 and sorted(model.calls[0]) == sorted(set(test[0] + test[1] + dev[0] + dev[1]))
    assert len(encoded.scores) == 2 and set(encoded.scores[0]) == {"cosine", "dot"}
    for (a, b), scores in zip([test, dev], encoded.scores, strict=True):
        for sim in ("cosine", "dot"):
            expected = pairwise_similarity(HashingEncoder().encode(a), HashingEncoder().encode(b), sim)
            assert scores[sim] == pytest.approx(np.asarray(expected, dtype=np.float64))
    assert np.array_equal(encoded.embeddings_of(["w6", "w3"]), HashingEncoder().encode(["w6", "w3"]))


def test_model_name():
    assert model_name(HashingEncoder(name="m")) == "m" and model_name(object()) == "object"
    assert model_name(None) is None
