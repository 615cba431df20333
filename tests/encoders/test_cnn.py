"""The CNN tower: max over time, save/load, embedding initialisation (padding and training: test_light_towers.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import LONGER, SHORT
from towers import small_cnn

from textsiam import SiameseModel
from textsiam.encoders import ENCODERS, CNNConfig, CNNEncoder
from textsiam.training import ConfigError, TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_max_over_time_by_hand(tiny_model):
    model = small_cnn(tiny_model, kernel_sizes=[1, 3])
    enc = model.encoder
    features = model.tokenize([SHORT])
    with torch.inference_mode():
        x = enc.embedding(features["input_ids"]).transpose(1, 2)  # (1, E, T)
        got = model.embed(features)[0]
        width1 = F.relu(enc.convs[0](x)).amax(dim=2)[0]  # (F,)
        width3 = F.relu(enc.convs[1](F.pad(x, (1, 1)))).amax(dim=2)[0]
    torch.testing.assert_close(got, torch.cat([width1, width3]))
    assert model.embedding_dim == 2 * 8


def test_embeddings_and_tokenizer_match_the_source(tiny_model):
    model = small_cnn(tiny_model)
    source_emb = tiny_model.encoder.model.get_input_embeddings().weight.detach()
    torch.testing.assert_close(model.encoder.embedding.weight.detach(), source_emb, rtol=0, atol=0)
    assert torch.equal(model.tokenize(LONGER)["input_ids"], tiny_model.tokenize(LONGER)["input_ids"])
    # a subword tower can be the source of another one
    torch.testing.assert_close(small_cnn(model).encoder.embedding.weight, model.encoder.embedding.weight)


def test_save_load_round_trip(tmp_path, tiny_model):
    model = small_cnn(tiny_model, kernel_sizes=[1, 2, 3, 5], projection_dim=10, projection_activation="tanh")
    path = model.save(tmp_path / "cnn")
    saved = json.loads((path / "textsiam.json").read_text())
    assert saved["encoder_type"] == "cnn" and saved["encoder"]["kernel_sizes"] == [1, 2, 3, 5]
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    assert isinstance(loaded.encoder, CNNEncoder)
    assert loaded.config == model.config and loaded.encoder.config == model.encoder.config
    texts = [SHORT, *LONGER, "", "x"]
    np.testing.assert_allclose(loaded.encode(texts), model.encode(texts), atol=1e-6)
    with pytest.raises(ValueError, match="backend='onnx' and quantize apply to transformer models, not cnn"):
        SiameseModel.from_pretrained(path, backend="onnx")


def test_bad_settings(tiny_model):
    assert ENCODERS["cnn"] is CNNEncoder
    with pytest.raises(ValueError, match="unknown pooling 'last' for CNNEncoder"):
        small_cnn(tiny_model, pooling="last")
    with pytest.raises(ValueError, match=r"CNNConfig\.kernel_sizes must be a non-empty list of ints, got \[\]"):
        small_cnn(tiny_model, kernel_sizes=[])
    with pytest.raises(ValueError, match=r"CNNConfig\.kernel_sizes must hold positive ints, got \[0\]"):
        CNNEncoder(CNNConfig(kernel_sizes=[0]), tiny_model.tokenizer)
    with pytest.raises(ValueError, match="unknown CNN activation 'swish'"):
        small_cnn(tiny_model, activation="swish")
    with pytest.raises(ConfigError, match="pooling 'last' does not apply to cnn towers"):
        TrainConfig(train_dataset="stsb", encoder="cnn", pooling="last").validate()


def test_mean_embedding_appends_the_static_path(tiny_model):
    model = small_cnn(tiny_model, mean_embedding=True)
    plain = small_cnn(tiny_model)
    features = model.tokenize([SHORT])
    ids = features["input_ids"][0]
    with torch.inference_mode():
        got = model.embed(features)[0]
        mean = model.encoder.embedding.weight[ids].mean(0)
        torch.testing.assert_close(got[-mean.shape[0] :], mean)
        torch.testing.assert_close(got[: -mean.shape[0]], plain.embed(features)[0])  # same seed, same filters
    assert model.embedding_dim == 3 * 8 + mean.shape[0]
    in_batch = model.encode([SHORT, *LONGER], batch_size=8)
    np.testing.assert_allclose(in_batch[0], model.encode([SHORT])[0], atol=1e-6)
    with pytest.raises(ValueError, match=r"CNNConfig\.mean_embedding must be true or false, got 'yes'"):
        CNNConfig(mean_embedding="yes").check()
