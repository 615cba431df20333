from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from textsiam.model.scoring import SIMILARITY_FUNCTIONS, pairwise_similarity, similarity_matrix

rng = np.random.default_rng(0)
A = rng.normal(size=(5, 8)).astype(np.float64)
B = rng.normal(size=(5, 8)).astype(np.float64)
C = rng.normal(size=(3, 8)).astype(np.float64)


def reference_matrix(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    if name == "cosine":
        return 1 - cdist(a, b, "cosine")
    if name == "dot":
        return a @ b.T
    if name == "euclidean":
        return -cdist(a, b, "euclidean")
    if name == "manhattan":
        return -cdist(a, b, "cityblock")
    if name == "malstm":
        return np.exp(-cdist(a, b, "cityblock"))
    raise AssertionError(name)


@pytest.mark.parametrize("name", SIMILARITY_FUNCTIONS)
def test_matrix_matches_scipy(name):
    np.testing.assert_allclose(similarity_matrix(A, C, name), reference_matrix(A, C, name), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", SIMILARITY_FUNCTIONS)
def test_pairwise_is_diagonal_of_matrix(name):
    np.testing.assert_allclose(pairwise_similarity(A, B, name), np.diag(reference_matrix(A, B, name)), atol=1e-10)


@pytest.mark.parametrize("name", SIMILARITY_FUNCTIONS)
def test_torch_keeps_autograd_and_type(name):
    a = torch.tensor(A, requires_grad=True)
    out = pairwise_similarity(a, torch.tensor(B), name)
    assert isinstance(out, torch.Tensor) and out.shape == (5,)
    out.sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_known_values():
    u = np.array([[1.0, 0.0]])
    v = np.array([[0.0, 2.0]])
    assert pairwise_similarity(u, v, "cosine")[0] == pytest.approx(0.0)
    assert pairwise_similarity(u, v, "dot")[0] == pytest.approx(0.0)
    assert pairwise_similarity(u, v, "euclidean")[0] == pytest.approx(-np.sqrt(5))
    assert pairwise_similarity(u, v, "manhattan")[0] == pytest.approx(-3.0)
    assert pairwise_similarity(u, v, "malstm")[0] == pytest.approx(np.exp(-3.0))
    assert pairwise_similarity(u, u, "malstm")[0] == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown similarity"):
        pairwise_similarity(A, B, "jaccard")
    with pytest.raises(ValueError, match="same number of rows"):
        pairwise_similarity(A, C)
    with pytest.raises(ValueError, match="dimensions differ"):
        similarity_matrix(A, C[:, :4])
    with pytest.raises(ValueError, match=r"1-D \(D,\) or 2-D"):
        pairwise_similarity(A[None], B[None])
    with pytest.raises(TypeError, match="list of embeddings must hold equal-length numeric vectors"):
        pairwise_similarity([[1.0], [1.0, 2.0]], [[1.0]])
    with pytest.raises(TypeError, match="expected a torch.Tensor, numpy.ndarray or list"):
        similarity_matrix("text", "text")


# ---------------------------------------------------------------------------------------------- #24 item 6
ST_NAMES = {"cosine": "cos_sim", "dot": "dot_score", "euclidean": "euclidean_sim", "manhattan": "manhattan_sim"}


@pytest.mark.parametrize("name", sorted(ST_NAMES))
@pytest.mark.parametrize("kind", ["numpy", "tensor", "numpy float32", "numpy float16", "list", "1-D"])
def test_matrix_returns_what_sentence_transformers_returns(name, kind):
    """Same type (a tensor), dtype, shape and values as sentence-transformers' ``util`` function, 1-D included."""
    util = pytest.importorskip("sentence_transformers.util")
    a, c = {
        "numpy": (A, C),
        "tensor": (torch.tensor(A), torch.tensor(C)),
        "numpy float32": (A.astype(np.float32), C.astype(np.float32)),
        "numpy float16": (A.astype(np.float16), C.astype(np.float16)),
        "list": ([torch.tensor(r, dtype=torch.float32) for r in A], [torch.tensor(r, dtype=torch.float32) for r in C]),
        "1-D": (A[0], C),
    }[kind]
    ours, theirs = similarity_matrix(a, c, name), getattr(util, ST_NAMES[name])(a, c)
    assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    pair_fn = getattr(util, "pairwise_" + ST_NAMES[name])
    b = B if kind != "1-D" else B[1]
    pairs_a = a if kind not in ("1-D", "list") else (A[0] if kind == "1-D" else a[:3])
    pairs_b = b if kind not in ("tensor", "list") else (torch.tensor(B) if kind == "tensor" else a[2:5])
    ours, theirs = pairwise_similarity(pairs_a, pairs_b, name), pair_fn(pairs_a, pairs_b)
    assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_model_similarity_on_embeddings_is_sentence_transformers(default_model, default_sentence_transformer):
    emb = default_model.encode(["A man plays a guitar.", "A person plays the guitar.", "Stocks fell."])
    for a, b in ((emb, emb), (emb[0], emb), (torch.from_numpy(emb), emb[1:]), (emb.astype(np.float64),) * 2):
        ours, theirs = default_model.similarity(a, b), default_sentence_transformer.similarity(a, b)
        assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)
    ours = default_model.similarity_pairwise(emb, emb[::-1].copy())
    torch.testing.assert_close(ours, default_sentence_transformer.similarity_pairwise(emb, emb[::-1].copy()))
