"""Fixtures for the evaluation tests: a deterministic hashing encoder, tiny fake datasets, reference numbers."""

from __future__ import annotations

import json

import pytest

from .helpers import (  # noqa: F401
    REFERENCE_PATH,
    TASKS,
    VOCAB,
    HashingEncoder,
    RandomEncoder,
    assert_same,
    build_fake_data,
    direct_scores,
    make_pairs_clf,
    make_quora,
    make_sts,
)


@pytest.fixture
def fake_data(monkeypatch):
    """Monkeypatch the evaluation's data hooks with tiny in-memory datasets; returns the dict and a load log."""
    from textsiam.evaluation import inputs

    data = build_fake_data()
    log: list[tuple[str, str]] = []

    def load_pairs(name, split, data_dir=None):
        log.append((name, split))
        return data[(name, split)]

    monkeypatch.setattr(inputs, "load_pairs", load_pairs)
    monkeypatch.setattr(inputs, "task_type", lambda name: TASKS[name])
    return data, log


@pytest.fixture
def encoder():
    return HashingEncoder()


@pytest.fixture(scope="session")
def reference() -> dict:
    """The hard-coded reference numbers (:data:`REFERENCE_PATH`)."""
    return json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))
