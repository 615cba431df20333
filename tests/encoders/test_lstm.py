"""The (bi)LSTM tower: pooling, save/load, embedding initialisation, textsiam train (padding and training steps:
test_light_towers.py)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from helpers import LONGER, SHORT
from towers import small_lstm

from textsiam import SiameseModel
from textsiam.cli import main
from textsiam.encoders import ENCODERS, LSTMConfig, LSTMEncoder
from textsiam.training import ConfigError, TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_last_pooling_is_final_state_of_each_direction(tiny_model):
    model = small_lstm(tiny_model, pooling="last", bidirectional=True)
    enc = model.encoder
    features = model.tokenize([SHORT])
    with torch.inference_mode():
        x = enc.embedding(features["input_ids"])  # (1, T, E)
        out, _ = enc.lstm(x)  # (1, T, 2H): no padding, so the plain LSTM is exact
        emb = model.embed(features)
    h = enc.config.hidden_size
    expected = torch.cat([out[0, -1, :h], out[0, 0, h:]])  # forward after the last token, backward after the first
    torch.testing.assert_close(emb[0], expected)
    assert model.embedding_dim == 2 * h


def test_embeddings_and_tokenizer_match_the_source(tiny_model, tiny_model_dir):
    source_emb = tiny_model.encoder.model.get_input_embeddings().weight.detach()  # (V, 32)
    for source in (tiny_model, str(tiny_model_dir)):
        model = small_lstm(source)
        weight = model.encoder.embedding.weight.detach()
        assert weight.shape == source_emb.shape
        torch.testing.assert_close(weight, source_emb, rtol=0, atol=0)
        assert model.encoder.config.padding_idx == tiny_model.tokenizer.pad_token_id
        ids = model.tokenize(LONGER)["input_ids"]
        assert torch.equal(ids, tiny_model.tokenize(LONGER)["input_ids"])
    # row i of the tower's matrix is what the source feeds its first layer for token id i
    token_ids = tiny_model.tokenizer("guitar")["input_ids"]
    torch.testing.assert_close(model.encoder.embedding(torch.tensor(token_ids)), source_emb[token_ids])


def test_random_embeddings(tiny_model):
    model = small_lstm(tiny_model, embeddings="random", embedding_dim=8)
    weight = model.encoder.embedding.weight
    assert weight.shape == (len(tiny_model.tokenizer), 8)
    assert torch.count_nonzero(weight[tiny_model.tokenizer.pad_token_id]) == 0
    with pytest.raises(ValueError, match=r"embedding_dim=8 differs from the size of the source embeddings \(32\)"):
        small_lstm(tiny_model, embedding_dim=8)  # pretrained rows have the source's size
    with pytest.raises(ValueError, match="unknown embeddings init 'glove'"):
        small_lstm(tiny_model, embeddings="glove")


def test_same_seed_same_weights(tiny_model):
    a, b, c = small_lstm(tiny_model), small_lstm(tiny_model), SiameseModel.lstm(tiny_model, hidden_size=16, seed=1)
    assert torch.equal(a.encoder.lstm.weight_hh_l0, b.encoder.lstm.weight_hh_l0)
    assert not torch.equal(a.encoder.lstm.weight_hh_l0, c.encoder.lstm.weight_hh_l0)


@pytest.mark.parametrize("projection_dim", [None, 24])
def test_save_load_round_trip(tmp_path, tiny_model, projection_dim):
    model = small_lstm(
        tiny_model,
        pooling="mean",
        num_layers=2,
        dropout=0.1,
        similarity="malstm",
        projection_dim=projection_dim,
        max_seq_length=40,
        freeze_embeddings=True,
    )
    path = model.save(tmp_path / "lstm")
    for name in ("model.safetensors", "tokenizer.json", "textsiam.json"):
        assert (path / name).is_file(), name
    saved = json.loads((path / "textsiam.json").read_text())
    assert saved["encoder_type"] == "lstm" and saved["pooling"] == "mean" and saved["similarity"] == "malstm"
    assert saved["encoder"]["hidden_size"] == 16 and saved["encoder"]["num_layers"] == 2
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    assert isinstance(loaded.encoder, LSTMEncoder)
    assert loaded.config == model.config
    assert loaded.encoder.config == model.encoder.config
    assert not loaded.encoder.embedding.weight.requires_grad  # frozen stays frozen
    assert loaded.max_seq_length == 40
    texts = [SHORT, *LONGER, ""]
    np.testing.assert_allclose(loaded.encode(texts), model.encode(texts), atol=1e-6)
    assert loaded.similarity(SHORT, LONGER[0]) == pytest.approx(model.similarity(SHORT, LONGER[0]), abs=1e-6)
    assert 0 < loaded.similarity(SHORT, LONGER[0]) <= 1  # malstm
    # the stored pooling can be overridden at load time, as for transformer towers
    assert SiameseModel.from_pretrained(path, pooling="last").encoder.pooling_mode == "last"


def test_registered_and_bad_settings(tiny_model):
    assert ENCODERS["lstm"] is LSTMEncoder
    with pytest.raises(ValueError, match="unknown pooling 'cls' for LSTMEncoder"):
        small_lstm(tiny_model, pooling="cls")
    with pytest.raises(ValueError, match=r"LSTMConfig\.hidden_size must be a positive int, got 0"):
        small_lstm(tiny_model, hidden_size=0)
    with pytest.raises(ValueError, match=r"unknown LSTMConfig setting\(s\) \['hiden_size'\]"):
        small_lstm(tiny_model, hiden_size=8)
    with pytest.raises(TypeError, match="config must be a LSTMConfig, got dict"):
        LSTMEncoder({"hidden_size": 8}, tiny_model.tokenizer)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match="source must be None, a model path or Hub name, a SiameseModel or an Encoder, got int"
    ):
        SiameseModel.lstm(42)
    with pytest.raises(ValueError, match=r"padding_idx 20 is outside the vocabulary \(size 10\)"):
        LSTMEncoder(LSTMConfig(vocab_size=10, padding_idx=20), tiny_model.tokenizer)


def test_frozen_embeddings_do_not_move(tiny_model):
    model = small_lstm(tiny_model, freeze_embeddings=True, projection_dim=32)
    before = model.encoder.embedding.weight.detach().clone()
    teacher = tiny_model.encode(LONGER, convert_to_tensor=True).clone()  # out of inference mode
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model.embed(model.tokenize(LONGER)), teacher).backward()
        optimizer.step()
    assert torch.equal(model.encoder.embedding.weight, before)


# ---------------------------------------------------------------------------------------------- textsiam train
def _sts_csv(path, n: int, seed: int):
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(60)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text_a", "text_b", "label"])
        for _ in range(n):
            words = list(rng.choice(vocab, size=12, replace=False))
            k = int(rng.integers(0, 7))
            writer.writerow([" ".join(words[:6]), " ".join(words[:k] + words[6 : 12 - k]), round(k / 6 * 5, 2)])
    return path


def test_textsiam_train_builds_an_lstm_tower(tmp_path, tiny_model_dir, capsys):
    train_file, dev_file = _sts_csv(tmp_path / "train.csv", 32, 1), _sts_csv(tmp_path / "dev.csv", 16, 2)
    config = TrainConfig(
        model=str(tiny_model_dir),
        encoder="lstm",
        encoder_args={"hidden_size": 8, "bidirectional": False, "projection_dim": 12},
        pooling="last",
        similarity="malstm",
        loss="cosine_similarity",
        loss_kwargs={"similarity": "malstm"},
        train_dataset=str(train_file),
        dev_dataset=str(dev_file),
        epochs=1,
        batch_size=8,
        learning_rate=1e-2,
        n_resamples=10,
        logging_steps=1,
        output_dir=str(tmp_path / "run"),
    )
    cfg_file = config.to_file(tmp_path / "lstm.yaml")
    assert main(["train", "--config", str(cfg_file), "-q"]) == 0
    assert "model saved to" in capsys.readouterr().out
    model_dir = tmp_path / "run" / "model"
    model = SiameseModel.from_pretrained(model_dir, device="cpu")
    assert model.config.encoder_type == "lstm" and model.config.pooling == "last"
    assert model.similarity_fn_name == "malstm" and model.embedding_dim == 12
    assert "lstm tower" in (model_dir / "README.md").read_text()
    assert json.loads((tmp_path / "run" / "evaluation.json").read_text())["results"][0]["primary_metric"]
    # the CLI reads the saved tower like any other model
    assert main(["score", "w1 w2 w3", "w1 w2 w4", "--model", str(model_dir), "-q"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(model.similarity("w1 w2 w3", "w1 w2 w4"), abs=1e-5)


def test_train_config_checks_the_tower_settings():
    base = dict(train_dataset="stsb", output_dir="x")
    TrainConfig(**base, encoder="lstm", encoder_args={"hidden_size": 64, "projection_dim": 384}).validate()
    TrainConfig(**base, encoder="lstm", pooling="last").validate()
    cases = {
        "unknown encoder 'gru'": dict(encoder="gru"),
        "unknown lstm setting": dict(encoder="lstm", encoder_args={"hiden_size": 8}),
        "encoder_args apply to a new tower": dict(encoder_args={"hidden_size": 8}),
        "hidden_size must be a positive int": dict(encoder="lstm", encoder_args={"hidden_size": -1}),
        "pooling 'cls' does not apply": dict(encoder="lstm", pooling="cls"),
        "unknown pooling mode 'last'": dict(pooling="last"),  # transformer towers have no "last"
    }
    for message, overrides in cases.items():
        with pytest.raises(ConfigError, match=message):
            TrainConfig(**base, **overrides).validate()
    cfg = TrainConfig(**base).with_overrides(["encoder=lstm", "encoder_args.hidden_size=32"])
    assert cfg.encoder_args == {"hidden_size": 32}
