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
    with pytest.raises(ValueError, match="2-D"):
        pairwise_similarity(A[0], B[0])
    with pytest.raises(TypeError, match="list"):
        pairwise_similarity([[1.0]], [[1.0]])
