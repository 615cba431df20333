"""#24 item 1: inference does not depend on a mode another thread can flip.

One thread loops ``model.train(); model.eval()`` (or the encoder's) on a shared model while others encode: every
encode equals the serial result, for every kind of tower.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from textsiam.model.siamese import SiameseModel

TEXTS = [
    "How do I learn Python?",
    "A man is playing a guitar.",
    "The cat sits on the mat.",
    "Stocks fell sharply on Monday after the report.",
    "Short.",
    "What is the best way to learn a new programming language quickly?",
]


def _with_dropout(model: SiameseModel) -> SiameseModel:
    """Dropout high enough that any forward pass run in training mode gives visibly different numbers."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    return model


def _towers(tiny_model: SiameseModel) -> dict[str, SiameseModel]:
    options = {"source": tiny_model, "seed": 0, "device": "cpu"}
    return {
        "transformer": tiny_model,
        "lstm": SiameseModel.lstm(hidden_size=16, num_layers=2, dropout=0.5, embedding_dropout=0.5, **options),
        "cnn": SiameseModel.cnn(num_filters=8, dropout=0.5, embedding_dropout=0.5, **options),
        "static": SiameseModel.static(embedding_dropout=0.5, projection_dim=8, **options),
    }


def _race(model: SiameseModel, flip: torch.nn.Module, expected: np.ndarray, rounds: int = 30) -> None:
    """Encode from 2 threads while a third flips ``flip`` between train and eval mode as fast as it can."""
    stop = threading.Event()
    flips = 0

    def flipper() -> None:
        nonlocal flips
        while not stop.is_set():
            flip.train()
            flip.eval()
            flips += 1

    def encoder(_: int) -> list[np.ndarray]:
        return [model.encode(TEXTS, batch_size=2) for _ in range(rounds)]

    thread = threading.Thread(target=flipper)
    thread.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [r for runs in pool.map(encoder, range(2)) for r in runs]
    finally:
        stop.set()
        thread.join()
    assert flips > 0
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("tower", ["transformer", "lstm", "cnn", "static"])
def test_flipping_the_model_mode_does_not_change_concurrent_encodes(tiny_model, tower):
    model = _with_dropout(_towers(tiny_model)[tower])
    expected = model.encode(TEXTS, batch_size=2)
    model.train()
    assert not np.allclose(model(model.tokenize(TEXTS)).detach().numpy(), expected, atol=1e-3)  # dropout is on
    model.eval()
    _race(model, model, expected)
    assert not model.training


def test_flipping_the_mode_of_an_onnx_tower_does_not_change_concurrent_encodes(tiny_model):
    pytest.importorskip("onnxruntime")
    from textsiam.encoders.onnx import export_transformer

    model = SiameseModel(export_transformer(tiny_model.encoder), device="cpu")
    _race(model, model, model.encode(TEXTS, batch_size=2), rounds=10)


def test_flipping_the_encoder_mode_does_not_change_concurrent_encodes(tiny_model):
    model = _with_dropout(tiny_model)
    expected = model.encode(TEXTS, batch_size=2)
    _race(model, model.encoder, expected)


def test_a_mode_switch_waits_for_running_inference_and_then_applies(tiny_model):
    """``train()`` from another thread during an encode is applied after it, not lost and not half-way."""
    model = _with_dropout(tiny_model)
    expected = model.encode(TEXTS[:1])
    started, release = threading.Event(), threading.Event()
    original = model.encoder.forward

    def slow_forward(features):  # the batch waits until the main thread has asked for train mode
        started.set()
        release.wait(5)
        return original(features)

    model.encoder.forward = slow_forward
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(model.encode, TEXTS[:1])
        assert started.wait(5)
        switch = threading.Thread(target=model.train)
        switch.start()
        switch.join(0.2)
        assert switch.is_alive() and not model.training  # waiting for the encode
        release.set()
        got = future.result(5)
        switch.join(5)
    np.testing.assert_array_equal(got, expected)
    assert model.training and all(m.training for m in model.modules())
