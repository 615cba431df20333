"""#15 item 2: inference is thread-safe and never switches the model's mode."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from textsiam.model.siamese import SiameseModel

PAIRS_A = ["How do I learn Python?", "A man is playing a guitar.", "The cat sits on the mat.", "Stocks fell."]
PAIRS_B = ["What is the capital of France?", "A person plays the guitar.", "A cat is on a mat.", "Markets dropped."]


def _with_dropout(model: SiameseModel) -> SiameseModel:
    """Dropout high enough that any call running in training mode gives visibly different numbers."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    return model


def test_loaded_and_new_models_are_in_eval_mode(tiny_model_dir, tiny_model):
    assert not SiameseModel.from_pretrained(tiny_model_dir).training
    assert not tiny_model.training
    assert not SiameseModel.lstm(hidden_size=8, seed=0).training


def test_encode_leaves_the_mode_alone(tiny_model):
    tiny_model.encode(PAIRS_A)
    assert not tiny_model.training
    tiny_model.train()
    tiny_model.encode(PAIRS_A)
    assert tiny_model.training  # restored, not switched for good


def test_encode_in_training_mode_still_has_dropout_off(tiny_model):
    model = _with_dropout(tiny_model)
    reference = model.encode(PAIRS_A)
    model.train()
    np.testing.assert_array_equal(model.encode(PAIRS_A), reference)


def test_eight_threads_fifty_calls_equal_one_thread(tiny_model):
    """8 threads x 50 ``similarity`` calls on one model equal the single-thread results exactly."""
    model = _with_dropout(tiny_model)
    calls = [(PAIRS_A[k % 4 :] + PAIRS_A[: k % 4], PAIRS_B[(k + 1) % 4 :] + PAIRS_B[: (k + 1) % 4]) for k in range(8)]
    expected = [model.similarity(a, b) for a, b in calls]

    def worker(k: int) -> list[np.ndarray]:
        a, b = calls[k]
        return [model.similarity(a, b, batch_size=2) for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    for k, runs in enumerate(results):
        for scores in runs:
            np.testing.assert_array_equal(scores, expected[k])
    assert not model.training


def test_threads_on_a_model_in_training_mode(tiny_model):
    """A model left in training mode is switched to eval under the lock: concurrent calls never see dropout."""
    model = _with_dropout(tiny_model)
    expected = model.similarity(PAIRS_A, PAIRS_B)
    model.train()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: model.similarity(PAIRS_A, PAIRS_B, batch_size=1), range(40)))
    for scores in results:
        np.testing.assert_array_equal(scores, expected)
    assert model.training


def test_thread_count_is_restored_after_concurrent_calls(tiny_model):
    before = torch.get_num_threads()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: tiny_model.encode(PAIRS_A * 10, batch_size=4, num_threads=1), range(8)))
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_default_model_similarity_from_threads_equals_single_thread():
    """The issue's reproduction: ``textsiam.similarity`` from 4 threads on the real default model."""
    import textsiam

    model = textsiam.get_model()
    assert not model.training
    expected = [textsiam.similarity(a, b) for a, b in zip(PAIRS_A, PAIRS_B, strict=True)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            got = list(pool.map(lambda ab: textsiam.similarity(*ab), zip(PAIRS_A, PAIRS_B, strict=True)))
            assert got == expected


def test_a_submodule_in_training_mode_is_switched_off_and_restored(tiny_model):
    """Dropout switched on in one layer of an eval model still gives eval results; each module keeps its mode."""
    model = _with_dropout(tiny_model)
    expected = model.encode(PAIRS_A)
    dropout = next(m for m in model.modules() if isinstance(m, torch.nn.Dropout))
    dropout.train()
    np.testing.assert_array_equal(model.encode(PAIRS_A), expected)
    assert dropout.training and not model.training
    model.train()
    model.encoder.eval()  # e.g. a frozen encoder while a head trains
    model.encode(PAIRS_A)
    assert model.training and not model.encoder.training
