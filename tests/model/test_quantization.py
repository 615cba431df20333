"""#24 item 3: sentence-transformers' quantisation names and schemes, code for code."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import textsiam
from textsiam.model import precision as P
from textsiam.model.quantization import ST_PRECISIONS, dequantize_embeddings, quantization_ranges

st_quantization = pytest.importorskip("sentence_transformers.quantization")

TEXTS = [
    "A man is playing a guitar.",
    "A person plays the guitar.",
    "The cat sits on the mat.",
    "Stocks fell sharply on Monday.",
    "How do I learn Python?",
    "What is the best way to learn Python?",
]


@pytest.fixture(scope="module")
def random_embeddings() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(150, 36)).astype(np.float32)  # 36: not a multiple of 8


def _same(ours, theirs) -> None:
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same(o, t)
        return
    assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("precision", ST_PRECISIONS)
def test_random_embeddings_quantise_as_sentence_transformers(random_embeddings, precision):
    x = random_embeddings
    calibration, ranges = x[:120], np.vstack([x.min(0) - 0.5, x.max(0)])
    cases = [
        {},
        {"calibration_embeddings": calibration},
        {"ranges": ranges},
    ]
    for kwargs in cases:
        for inputs in (x, torch.from_numpy(x), x.astype(np.float16), list(torch.from_numpy(x[:50]))):
            _same(
                textsiam.quantize_embeddings(inputs, precision, **kwargs),
                st_quantization.quantize_embeddings(inputs, precision, **kwargs),
            )
    matrices = [x[:7], x[7:8], x[8:40], x[40:40]]  # token embeddings of several texts: ranges shared by all
    _same(textsiam.quantize_embeddings(matrices, precision), st_quantization.quantize_embeddings(matrices, precision))
    empty = x[:0]
    _same(textsiam.quantize_embeddings(empty, precision), st_quantization.quantize_embeddings(empty, precision))


@pytest.mark.parametrize("precision", ST_PRECISIONS)
def test_real_embeddings_and_encode_quantise_as_sentence_transformers(
    default_model, default_sentence_transformer, precision
):
    emb = default_model.encode(TEXTS)
    _same(textsiam.quantize_embeddings(emb, precision), st_quantization.quantize_embeddings(emb, precision))
    ranges = quantization_ranges(emb)
    _same(
        textsiam.quantize_embeddings(emb[:1], precision, ranges=ranges),
        st_quantization.quantize_embeddings(emb[:1], precision, ranges=ranges),
    )
    ours = default_model.encode(TEXTS, precision=precision)
    theirs = default_sentence_transformer.encode(TEXTS, precision=precision)
    if precision == "float32":
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    else:  # codes: equal except where a float-rounding difference crosses a bucket boundary (none here)
        _same(ours, theirs)
        _same(default_model.encode(TEXTS, precision=precision, convert_to_tensor=True).numpy(), theirs)


def test_the_old_schemes_keep_their_own_names(random_embeddings):
    x = random_embeddings
    assert P.quantize(x, "int8_per_vector").dtype == np.int8
    np.testing.assert_array_equal(np.abs(P.quantize(x, "int8_per_vector")).max(1), 127)  # each row its own scale
    np.testing.assert_array_equal(P.quantize(x, "ubinary"), np.packbits(x > 0, axis=-1))  # textsiam's old binary
    assert not np.array_equal(P.quantize(x, "int8"), P.quantize(x, "int8_per_vector"))


@pytest.mark.parametrize("precision", ["int8", "uint8"])
def test_int8_codes_score_on_their_bucket_centres(random_embeddings, precision):
    x = random_embeddings / np.linalg.norm(random_embeddings, axis=1, keepdims=True)
    ranges = quantization_ranges(x)
    codes = textsiam.quantize_embeddings(x, precision, ranges=ranges)
    centres = dequantize_embeddings(codes, precision, ranges)
    step = (ranges[1] - ranges[0]) / 255
    assert np.all(np.abs(centres - x) <= step + 1e-6)  # within one bucket (the top value sits in the last bucket)
    scores = P.similarity_matrix(codes, codes, precision, ranges=ranges)
    np.testing.assert_allclose(scores, x @ x.T, atol=0.02)
    np.testing.assert_allclose(P.pairwise_similarity(codes[:5], codes[5:10], precision, "dot", ranges=ranges),
                               (centres[:5] * centres[5:10]).sum(1), atol=1e-5)  # fmt: skip


def test_quantize_embeddings_errors(random_embeddings, caplog):
    x = random_embeddings
    with pytest.raises(ValueError, match=r"unknown precision 'int4'; choose one of \['float32', 'int8'"):
        textsiam.quantize_embeddings(x, "int4")
    with pytest.raises(ValueError, match="cannot compute int8 quantisation ranges from a single embedding"):
        textsiam.quantize_embeddings(x[0], "int8")
    with pytest.raises(TypeError, match="to quantise must be floats, got dtype int8"):
        textsiam.quantize_embeddings(textsiam.quantize_embeddings(x, "int8"), "int8")
    with pytest.raises(ValueError, match=r"ranges must have shape \(2, D\) = \(2, 36\)"):
        textsiam.quantize_embeddings(x, "int8", ranges=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="need the ranges they were quantised with"):
        dequantize_embeddings(textsiam.quantize_embeddings(x, "uint8"), "uint8")
    with caplog.at_level(logging.WARNING, logger="textsiam.model.quantization"):
        textsiam.quantize_embeddings(x[:10], "int8")
    assert "from 10 embeddings" in caplog.text
