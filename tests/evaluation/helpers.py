"""Helpers of the evaluation tests: fake encoders, synthetic pair sets, record comparison."""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.evaluation.results import to_jsonable

#: Records of the evaluator before the 0.2 redesign on :func:`build_fake_data` (see its ``_about``).
REFERENCE_PATH = Path(__file__).parent / "data" / "evaluate_reference.json"


VOCAB = [f"w{i}" for i in range(60)]


def direct_scores(model: Any, pairs: dict, sim: str = "cosine") -> np.ndarray:
    """Independent path: encode each side separately, no dedupe."""
    from textsiam.model.scoring import pairwise_similarity

    ea = model.encode(pairs["text_a"])
    eb = model.encode(pairs["text_b"])
    return np.asarray(pairwise_similarity(ea, eb, sim), dtype=np.float64)


class HashingEncoder:
    """Bag-of-words encoder: each lower-cased word adds +-1 to a hashed dimension. Counts encode calls."""

    def __init__(self, dim: int = 64, similarity_fn_name: str | None = "cosine", name: str = "hashing-bow") -> None:
        self.dim = dim
        if similarity_fn_name is not None:
            self.similarity_fn_name = similarity_fn_name
        self.name_or_path = name
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size: int = 32, show_progress_bar: bool = False) -> np.ndarray:
        texts = list(texts)
        self.calls.append(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in re.findall(r"\w+", text.lower()):
                h = zlib.crc32(tok.encode())
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        return out


class RandomEncoder(HashingEncoder):
    """Ignores the words: a fixed random vector per text (a useless model)."""

    def encode(self, texts, batch_size: int = 32, show_progress_bar: bool = False) -> np.ndarray:
        texts = list(texts)
        self.calls.append(texts)
        return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]).astype(
            np.float32
        )


class LookupEncoder:
    """A fake model with a fixed vector per text (for hand-computed metrics). Counts encode calls."""

    def __init__(self, vectors: dict[str, Any], similarity_fn_name: str = "cosine", name: str = "lookup") -> None:
        self.vectors = {text: np.asarray(v, dtype=np.float32) for text, v in vectors.items()}
        self.similarity_fn_name = similarity_fn_name
        self.name_or_path = name
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size: int = 32, show_progress_bar: bool = False) -> np.ndarray:
        texts = list(texts)
        self.calls.append(texts)
        return np.stack([self.vectors[t] for t in texts])


def angle(degrees: float) -> list[float]:
    """The unit vector at ``degrees``: cosine similarity orders texts by angular distance."""
    rad = math.radians(degrees)
    return [math.cos(rad), math.sin(rad)]


def make_sts(n: int, seed: int, max_score: float = 5.0) -> dict:
    """Pairs sharing k of 6 words; gold grows with k (plus noise), so word overlap predicts it."""
    rng = np.random.default_rng(seed)
    a, b, y = [], [], []
    for _ in range(n):
        words = list(rng.choice(VOCAB, size=12, replace=False))
        k = int(rng.integers(0, 7))
        a.append(" ".join(words[:6]))
        b.append(" ".join(words[:k] + words[6 : 12 - k]))
        y.append(float(np.clip(k / 6 * max_score + rng.normal(scale=0.5), 0, max_score)))
    return {"text_a": a, "text_b": b, "label": y}


def make_pairs_clf(n: int, seed: int, shared: list[str] | None = None) -> dict:
    """Paraphrase-like pairs: label 1 pairs share more words (noisily). Some texts repeat across pairs."""
    rng = np.random.default_rng(seed)
    pool = shared if shared is not None else []
    a, b, y = [], [], []
    for i in range(n):
        words = list(rng.choice(VOCAB, size=12, replace=False))
        label = int(rng.random() < 0.4)
        k = int(rng.integers(3, 7)) if label else int(rng.integers(0, 4))
        text_a = pool[i % len(pool)] if pool and i % 5 == 0 else " ".join(words[:6])
        a.append(text_a)
        b.append(" ".join(text_a.split()[:k] + words[6 : 12 - k]))
        y.append(label)
    return {"text_a": a, "text_b": b, "label": y}


def make_quora(n: int, seed: int) -> dict:
    """Question pairs where duplicates share most words; questions recur across pairs (clusters)."""
    rng = np.random.default_rng(seed)
    clusters = []
    for _ in range(n // 3):
        base = list(rng.choice(VOCAB, size=8, replace=False))
        variants = []
        for _ in range(3):
            v = list(base)
            v[int(rng.integers(0, 8))] = str(rng.choice(VOCAB))
            variants.append(" ".join(v) + "?")
        clusters.append(variants)
    a, b, y = [], [], []
    for i in range(n):
        c = clusters[i % len(clusters)]
        if rng.random() < 0.5:
            a.append(c[0])
            b.append(c[int(rng.integers(1, 3))])
            y.append(1)
        else:
            other = clusters[int(rng.integers(0, len(clusters)))]
            a.append(c[int(rng.integers(0, 3))])
            b.append(other[int(rng.integers(0, 3))])
            y.append(int(other is c))
    return {"text_a": a, "text_b": b, "label": y}


TASKS = {"stsb": "sts", "sick": "sts", "mrpc": "classification", "quora": "classification", "sick-e": "classification"}


def build_fake_data() -> dict:
    shared = [" ".join(VOCAB[i : i + 6]) for i in range(0, 48, 6)]
    return {
        ("stsb", "test"): make_sts(120, 1),
        ("stsb", "dev"): make_sts(80, 2),
        ("sick", "test"): make_sts(100, 3, max_score=4.0),
        ("sick", "dev"): make_sts(60, 4, max_score=4.0),
        ("mrpc", "test"): make_pairs_clf(150, 5, shared),
        ("mrpc", "dev"): make_pairs_clf(100, 6, shared),
        ("quora", "test"): make_quora(120, 7),
        ("quora", "dev"): make_quora(90, 8),
    }


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """``actual`` (made JSON-ready) equals ``expected``: same keys in the same order, floats to 1e-9."""
    actual = to_jsonable(actual)
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        if "wall_time_s" in actual and "wall_time_s" not in expected:
            actual = {k: v for k, v in actual.items() if k != "wall_time_s"}
        assert list(actual) == list(expected), f"{path}: keys differ"
        for key, value in expected.items():
            assert_same(actual[key], value, f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, bool) and isinstance(actual, (int, float)):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {actual} != {expected}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
