"""Storage precisions of embeddings: quantise / dequantise round trips and the similarity of each format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import SENTENCES

from textsiam.model import precision as P
from textsiam.model.scoring import pairwise_similarity as float_pairwise
from textsiam.model.scoring import similarity_matrix as float_matrix


@pytest.fixture
def emb() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 48)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_float_precisions_round_trip(emb):
    assert P.quantize(emb, "float32").dtype == np.float32
    np.testing.assert_array_equal(P.dequantize(P.quantize(emb, "float32"), "float32"), emb)
    half = P.quantize(emb, "float16")
    assert half.dtype == np.float16
    np.testing.assert_allclose(P.dequantize(half, "float16"), emb, atol=1e-3)
    np.testing.assert_allclose(
        P.pairwise_similarity(half[:10], half[10:], "float16"), float_pairwise(emb[:10], emb[10:]), atol=2e-3
    )


def test_int8_per_row_codes_and_cosine(emb):
    codes, scale = P.quantize_int8(emb)
    assert codes.dtype == np.int8 and scale.shape == (20, 1)
    assert np.abs(codes).max(axis=1).tolist() == [127] * 20  # each row uses the full range
    np.testing.assert_allclose(P.dequantize_int8(codes, scale), emb, atol=float(scale.max()) / 2 + 1e-7)
    exact = float_pairwise(emb[:10], emb[10:])
    np.testing.assert_allclose(P.pairwise_similarity(codes[:10], codes[10:], "int8_per_vector"), exact, atol=0.01)
    np.testing.assert_allclose(
        P.similarity_matrix(codes, codes, "int8_per_vector"), float_matrix(emb, emb).numpy(), atol=0.01
    )
    # the matrix form agrees with the pairwise form exactly (integer arithmetic)
    np.testing.assert_allclose(
        np.diag(P.similarity_matrix(codes[:10], codes[10:], "int8_per_vector")),
        P.pairwise_similarity(codes[:10], codes[10:], "int8_per_vector"),
        atol=1e-6,
    )
    # codes do not depend on the other rows of the batch
    np.testing.assert_array_equal(P.quantize(emb[3:4], "int8_per_vector"), codes[3:4])


def test_int8_per_dimension_calibration(emb):
    scale = P.calibrate_int8(emb)
    assert scale.shape == (48,)
    codes, used = P.quantize_int8(emb, scale)
    np.testing.assert_array_equal(used, scale)
    np.testing.assert_allclose(
        P.dequantize(codes, "int8_per_vector", scale=scale), emb, atol=float(scale.max()) / 2 + 1e-7
    )
    g_codes, g = P.quantize_int8(emb, 0.01)
    assert g.shape == () and np.abs(g_codes).max() <= 127
    with pytest.raises(ValueError, match="scale"):
        P.quantize_int8(emb, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="positive"):
        P.quantize_int8(emb, 0.0)


def test_binary_packing_and_hamming(emb):
    bits = P.quantize(emb, "ubinary")
    assert bits.dtype == np.uint8 and bits.shape == (20, 6)
    signs = P.dequantize(bits, "ubinary", dim=48)
    np.testing.assert_array_equal(signs, np.where(emb > 0, 1.0, -1.0))
    # 1 - 2 * hamming / D is exactly the cosine of the +-1 vectors
    np.testing.assert_allclose(
        P.pairwise_similarity(bits[:10], bits[10:], "ubinary"), float_pairwise(signs[:10], signs[10:]), atol=1e-6
    )
    np.testing.assert_allclose(P.similarity_matrix(bits, bits, "ubinary"), float_matrix(signs, signs), atol=1e-6)
    assert np.all(np.diag(P.similarity_matrix(bits, bits, "ubinary")) == 1.0)
    h = P.hamming_distance(bits[:10], bits[10:])
    np.testing.assert_array_equal(h, ((signs[:10] != signs[10:]).sum(1)))
    # sentence-transformers' signed "binary" codes: the same bytes minus 128, the same scores and signs
    signed = P.quantize(emb, "binary")
    assert signed.dtype == np.int8
    np.testing.assert_array_equal(signed, (bits.astype(np.int16) - 128).astype(np.int8))
    np.testing.assert_array_equal(P.dequantize(signed, "binary", dim=48), signs)
    np.testing.assert_array_equal(
        P.similarity_matrix(signed, signed, "binary"), P.similarity_matrix(bits, bits, "ubinary")
    )
    np.testing.assert_array_equal(P.hamming_distance(signed[:10], signed[10:]), h)


def test_binary_dimension_not_multiple_of_8():
    x = np.array([[1.0, -1.0, 2.0, 0.5, -0.1]], dtype=np.float32)
    bits = P.quantize_binary(x)
    assert bits.shape == (1, 1)
    np.testing.assert_array_equal(P.dequantize_binary(bits, dim=5), [[1, -1, 1, 1, -1]])
    assert P.pairwise_similarity(bits, bits, "ubinary", dim=5)[0] == pytest.approx(1.0)


def test_errors(emb):
    with pytest.raises(ValueError, match="unknown precision"):
        P.quantize(emb, "int4")
    codes = P.quantize(emb, "int8_per_vector")
    with pytest.raises(ValueError, match="only 'cosine' works on them directly"):
        P.pairwise_similarity(codes, codes, "int8_per_vector", "dot")
    with pytest.raises(ValueError, match=r"pass ranges= \(the \(2, D\) ranges"):
        P.pairwise_similarity(codes, codes, "int8")
    bits = P.quantize(emb, "ubinary")
    with pytest.raises(ValueError, match="support the 'hamming' similarity only"):
        P.similarity_matrix(bits, bits, "ubinary", "cosine")
    with pytest.raises(TypeError, match="int8"):
        P.dequantize_int8(emb)
    with pytest.raises(ValueError, match="same shape"):
        P.pairwise_similarity(bits[:2], bits[:3], "ubinary")


def test_torch_inputs(emb):
    t = torch.from_numpy(emb)
    for precision in P.PRECISIONS:
        np.testing.assert_array_equal(P.quantize(t, precision), P.quantize(emb, precision))


# ---------------------------------------------------------------------------------------------- encode()
@pytest.mark.parametrize("precision", P.PRECISIONS)
def test_encode_precision(tiny_model, precision):
    ref = tiny_model.encode(SENTENCES)
    out = tiny_model.encode(SENTENCES, precision=precision)
    np.testing.assert_array_equal(out, P.quantize(ref, precision))
    if precision in ("int8", "uint8"):  # sentence-transformers: no ranges from one embedding
        with pytest.raises(ValueError, match="cannot compute .* quantisation ranges from a single embedding"):
            tiny_model.encode(SENTENCES[0], precision=precision)
    else:
        single = tiny_model.encode(SENTENCES[0], precision=precision)
        np.testing.assert_array_equal(single, P.quantize(tiny_model.encode(SENTENCES[0]), precision))
    tensor = tiny_model.encode(SENTENCES, precision=precision, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor)
    np.testing.assert_array_equal(tensor.numpy(), out)
    empty = tiny_model.encode([], precision=precision)
    assert empty.shape[0] == 0 and empty.dtype == out.dtype


def test_encode_precision_similarities_track_float(default_model):
    texts = ["A man is playing a guitar.", "A person plays the guitar.", "The cat sits on the mat.", "Stocks fell."]
    a, b = texts[:2] * 2, texts[2:] + texts[:2][::-1]
    exact = default_model.similarity(a, b)
    for precision, atol in (("float16", 1e-3), ("int8_per_vector", 0.01)):
        ea = default_model.encode(a, precision=precision)
        eb = default_model.encode(b, precision=precision)
        np.testing.assert_allclose(P.pairwise_similarity(ea, eb, precision), exact, atol=atol)


def test_binary_scores_rank_stsb_pairs_like_float(default_model, data_dir):
    """On 300 STS-B dev pairs, 1-bit embeddings (1/32 of the memory) rank the pairs as the float ones do and lose
    little STS-B Spearman: for this model about 0.99 against the float scores, and 0.85 -> 0.83 against the gold."""
    from scipy.stats import spearmanr

    from textsiam.data.loaders import load_pairs

    dev = load_pairs("stsb", "dev", data_dir=data_dir)
    pairs = dev.select(np.random.default_rng(0).choice(len(dev), 300, replace=False))
    gold = np.asarray(pairs["label"])
    ea, eb = default_model.encode(pairs["text_a"]), default_model.encode(pairs["text_b"])
    exact = P.pairwise_similarity(ea, eb, "float32")
    # encode(precision="ubinary") is quantize(encode()) (test_encode_precision): quantise once, encode once
    ba, bb = P.quantize(ea, "ubinary"), P.quantize(eb, "ubinary")
    assert ba.shape == (300, default_model.embedding_dim // 8) and ba.dtype == np.uint8
    approx = P.pairwise_similarity(ba, bb, "ubinary")
    assert spearmanr(approx, exact)[0] > 0.97
    float_rho, binary_rho = spearmanr(exact, gold)[0], spearmanr(approx, gold)[0]
    assert float_rho > 0.8  # the model is good on these pairs: a drop below is the quantisation's
    assert float_rho - binary_rho < 0.03, (float_rho, binary_rho)
    # not by chance: binary scores of mismatched pairs do not track the float scores
    shuffled = P.pairwise_similarity(ba, bb[np.random.default_rng(1).permutation(300)], "ubinary")
    assert abs(spearmanr(shuffled, exact)[0]) < 0.2


def test_encode_precision_rejected(tiny_model):
    with pytest.raises(ValueError, match="unknown precision"):
        tiny_model.encode(SENTENCES, precision="int4")
