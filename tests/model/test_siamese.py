"""Unit tests of the twin tower on a tiny random BERT."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import SENTENCES, make_tiny_model

from textsiam import SiameseModel
from textsiam.model.siamese import CONFIG_NAME


# ---------------------------------------------------------------------------------------------- twin tower
def test_one_parameter_set(tiny_model):
    params = list(tiny_model.parameters())
    assert {id(p) for p in params} == {id(p) for p in tiny_model.encoder.parameters()}
    calls = []
    tiny_model.encoder.register_forward_hook(lambda mod, inp, out: calls.append(id(mod)))
    a = tiny_model.tokenize(["left text"])
    b = tiny_model.tokenize(["right text, longer"])
    tiny_model.fuse_sides = False
    tiny_model(a, b)
    assert calls == [id(tiny_model.encoder)] * 2  # the same module ran for both sides
    calls.clear()
    tiny_model.fuse_sides = True
    tiny_model(a, b)
    assert calls == [id(tiny_model.encoder)]  # fused: one pass of the same module over both sides


def test_one_optimizer_step_moves_both_towers_identically(tiny_model):
    texts_a = ["a dog runs in the park", "the market fell"]
    texts_b = ["a puppy is running", "stocks dropped"]
    probe = tiny_model.tokenize(["probe sentence"])
    tiny_model.eval()
    with torch.no_grad():
        before_a, before_b = tiny_model(probe, probe)
    tiny_model.train()
    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.5)
    emb_a, emb_b = tiny_model(tiny_model.tokenize(texts_a), tiny_model.tokenize(texts_b))
    loss = (1 - torch.nn.functional.cosine_similarity(emb_a, emb_b)).mean()
    loss.backward()
    # the gradient of each shared parameter is the sum of both towers' contributions: one tensor, one grad
    assert all(p.grad is not None for p in tiny_model.parameters() if p.requires_grad and p.grad is not None)
    opt.step()
    tiny_model.eval()
    with torch.no_grad():
        after_a, after_b = tiny_model(probe, probe)
    assert not torch.allclose(before_a, after_a)  # the step moved tower A ...
    torch.testing.assert_close(after_a, after_b, rtol=0, atol=0)  # ... and tower B exactly as much
    torch.testing.assert_close(before_a, before_b, rtol=0, atol=0)


def test_fused_sides_equal_separate_passes(tiny_model):
    """embed_many pads the sides to one width and runs one pass: same embeddings and gradients as two passes."""
    fa = tiny_model.tokenize(["short", "a somewhat longer sentence about dogs"])
    fb = tiny_model.tokenize(["a much much longer sentence than any on the other side of the pair", "x"])
    fc = tiny_model.tokenize(["third side"])
    tiny_model.eval()
    grads = {}
    for fused in (True, False):
        tiny_model.fuse_sides = fused
        tiny_model.zero_grad()
        embs = tiny_model.embed_many([fa, fb, fc])
        assert [tuple(e.shape) for e in embs] == [(2, tiny_model.embedding_dim), (2, tiny_model.embedding_dim)] + [
            (1, tiny_model.embedding_dim)
        ]
        sum(e.pow(2).sum() * (i + 1) for i, e in enumerate(embs)).backward()
        grads[fused] = (
            [e.detach() for e in embs],
            [p.grad.clone() for p in tiny_model.parameters() if p.grad is not None],
        )
    tiny_model.fuse_sides = True
    for a, b in zip(grads[True][0], grads[False][0], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(grads[True][1], grads[False][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    emb_a, emb_b = tiny_model(fa, fb)  # forward uses the fused path
    torch.testing.assert_close(emb_a, tiny_model.embed(fa), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(emb_b, tiny_model.embed(fb), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------- encode
def test_encode_shapes_and_types(tiny_model):
    emb = tiny_model.encode(SENTENCES, batch_size=3)
    assert isinstance(emb, np.ndarray) and emb.shape == (len(SENTENCES), 32) and emb.dtype == np.float32
    single = tiny_model.encode("one text")
    assert single.shape == (32,)
    t = tiny_model.encode(SENTENCES, convert_to_tensor=True)
    assert isinstance(t, torch.Tensor) and t.shape == (len(SENTENCES), 32)
    assert tiny_model.encode([]).shape == (0, 32)


def test_length_sorting_preserves_order_and_batch_equals_single(tiny_model):
    batched = tiny_model.encode(SENTENCES, batch_size=4)
    one_by_one = np.stack([tiny_model.encode(s) for s in SENTENCES])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    # and batch size does not matter
    np.testing.assert_allclose(tiny_model.encode(SENTENCES, batch_size=1), tiny_model.encode(SENTENCES), atol=1e-5)


def test_encode_runs_under_inference_mode_and_restores_training_flag(tiny_model):
    modes = []
    tiny_model.encoder.register_forward_hook(lambda *_: modes.append(torch.is_inference_mode_enabled()))
    tiny_model.train()
    tiny_model.encode(["x", "y"], batch_size=1)
    assert modes == [True, True] and tiny_model.training
    a = tiny_model.encode(SENTENCES[:3])
    b = tiny_model.encode(SENTENCES[:3])
    np.testing.assert_array_equal(a, b)  # dropout is off while encoding


def test_encode_normalize_flag(tiny_model):
    emb = tiny_model.encode(SENTENCES[:3], normalize=True)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_truncation_warns_once(tiny_model):
    long = "word " * 500
    with pytest.warns(UserWarning, match="truncated") as record:
        tiny_model.encode([long, long])
        tiny_model.encode([long])
    assert sum("truncated" in str(w.message) for w in record) == 1
    assert tiny_model.tokenize([long])["input_ids"].shape[1] == tiny_model.max_seq_length


def test_num_threads_is_restored(tiny_model):
    before = torch.get_num_threads()
    tiny_model.encode(["x"], num_threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        tiny_model.encode(["x"], num_threads=0)


def test_progress_bar(tiny_model, capsys):
    tiny_model.encode(SENTENCES, batch_size=2, show_progress_bar=True)
    assert "Encoding" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- similarity
def test_similarity_types(tiny_model):
    s = tiny_model.similarity("a", "b")
    assert isinstance(s, float)
    arr = tiny_model.similarity(["a", "b", ""], ["c", "d", ""])
    assert isinstance(arr, np.ndarray) and arr.shape == (3,)
    assert arr[2] == pytest.approx(1.0, abs=1e-5)  # an empty string is scored like any text
    assert tiny_model.similarity([], []).shape == (0,)


def test_similarity_matches_embeddings(tiny_model):
    a, b = SENTENCES[:3], SENTENCES[3:6]
    ea, eb = tiny_model.encode(a), tiny_model.encode(b)
    expected = (ea * eb).sum(1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1)
    np.testing.assert_allclose(tiny_model.similarity(a, b), expected, atol=1e-5)


def test_similarity_with_repeated_texts_encodes_each_once(tiny_model, monkeypatch):
    seen = []
    original = tiny_model.encode

    def spy(texts, **kw):
        seen.extend(texts)
        return original(texts, **kw)

    monkeypatch.setattr(tiny_model, "encode", spy)
    query = "the same query"
    cands = ["x", "y", "x", "z"]
    scores = tiny_model.similarity([query] * 4, cands)
    assert sorted(seen) == sorted({query, "x", "y", "z"})
    monkeypatch.undo()
    uncached = np.array([tiny_model.similarity(query, c) for c in cands], dtype=np.float32)
    np.testing.assert_allclose(scores, uncached, atol=1e-6)


@pytest.mark.parametrize("name", ["cosine", "dot", "euclidean", "manhattan", "malstm"])
def test_similarity_matrix_matches_pairs(default_tokenizer, name):
    model = make_tiny_model(default_tokenizer, similarity=name)
    q, c = SENTENCES[:2], SENTENCES[2:5]
    mat = model.similarity_matrix(q, c)
    assert mat.shape == (2, 3)
    for i in range(2):
        np.testing.assert_allclose(mat[i], model.similarity([q[i]] * 3, c), atol=1e-4)


@pytest.mark.parametrize(
    ("a", "b", "exc", "match"),
    [
        (None, "x", TypeError, "got None"),
        ("x", None, TypeError, "got None"),
        (["x", 3], ["y", "z"], TypeError, r"a\[1\] is int"),
        (["x", None], ["y", "z"], TypeError, r"a\[1\] is None"),
        (["x"], ["y", "z"], ValueError, "same length"),
        ([["x"]], ["y"], TypeError, r"a\[0\] is a nested list"),
        ("x", ["y"], TypeError, "both be strings or both be lists"),
        (b"x", "y", TypeError, "bytes"),
    ],
)
def test_bad_input(tiny_model, a, b, exc, match):
    with pytest.raises(exc, match=match):
        tiny_model.similarity(a, b)


def test_bad_encode_args(tiny_model):
    with pytest.raises(ValueError, match="batch_size"):
        tiny_model.encode(["x"], batch_size=0)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        tiny_model.encode(["x", 1.5])


# ---------------------------------------------------------------------------------------------- save / load
def test_save_load_round_trip(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "m")
    names = set(os.listdir(path))
    assert {"config.json", "model.safetensors", "tokenizer.json", CONFIG_NAME} <= names
    assert not any(n.endswith(".bin") for n in names)
    cfg = json.loads((path / CONFIG_NAME).read_text())
    assert cfg["pooling"] == "mean" and cfg["similarity"] == "cosine" and cfg["max_seq_length"] == 64
    assert cfg["normalize"] is False and cfg["textsiam_version"]
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    np.testing.assert_array_equal(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES))


def test_saved_dir_loads_with_transformers(tiny_model, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    path = tiny_model.save(tmp_path / "m")
    hf = AutoModel.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    feats = tok(["hello there"], return_tensors="pt")
    with torch.no_grad():
        out = hf(**feats).last_hidden_state.mean(1)[0]
    np.testing.assert_allclose(out.numpy(), tiny_model.encode("hello there"), atol=1e-5)


def test_overrides_on_load(tiny_model_dir):
    m = SiameseModel.from_pretrained(tiny_model_dir, pooling="cls", similarity="dot", normalize=True, max_seq_length=16)
    assert (m.config.pooling, m.similarity_fn_name, m.normalize, m.max_seq_length) == ("cls", "dot", True, 16)
    with pytest.raises(ValueError, match="unknown similarity"):
        SiameseModel.from_pretrained(tiny_model_dir, similarity="jaccard")
    with pytest.raises(ValueError, match="unknown pooling"):
        SiameseModel.from_pretrained(tiny_model_dir, pooling="sum")


def test_projection_round_trip(default_tokenizer, tmp_path):
    from textsiam.model.siamese import Projection

    model = make_tiny_model(default_tokenizer, normalize=True, projection=Projection(32, 8))
    assert model.encode("x").shape == (8,)
    loaded = SiameseModel.from_pretrained(model.save(tmp_path / "p"), device="cpu")
    assert loaded.config.projection_dim == 8 and loaded.normalize
    np.testing.assert_array_equal(loaded.encode(SENTENCES), model.encode(SENTENCES))


def test_interrupted_save_keeps_old_model(tiny_model, default_tokenizer, tmp_path, monkeypatch):
    path = tiny_model.save(tmp_path / "m")
    before = tiny_model.encode(SENTENCES)
    other = make_tiny_model(default_tokenizer, seed=1)

    def explode(directory):
        (directory / "model.safetensors").write_bytes(b"half-written")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(other.encoder, "save", explode)
    with pytest.raises(KeyboardInterrupt, match="killed mid-save"):
        other.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp dir left behind
    np.testing.assert_array_equal(SiameseModel.from_pretrained(path, device="cpu").encode(SENTENCES), before)


def test_crash_between_renames_is_recovered(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "m")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.rename(path, tmp_path / f".m.old-{int(dead.stdout)}-deadbeef")  # what a kill between the two renames leaves
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    np.testing.assert_array_equal(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES))


def test_save_removes_copies_orphaned_by_dead_processes(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "m")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    orphans = [tmp_path / f".m.tmp-{dead_pid}-x1", tmp_path / f".m.old-{dead_pid}-x2"]
    live = [tmp_path / f".m.tmp-{os.getpid()}-x3", tmp_path / f".other.tmp-{dead_pid}-x4", tmp_path / ".m.tmp-x5"]
    for folder in orphans + live:
        folder.mkdir()
    tiny_model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m"] + [p.name for p in live])


def test_pickle_checkpoint_refused(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "m")
    state = {k: v.clone() for k, v in tiny_model.encoder.model.state_dict().items()}
    torch.save(state, path / "pytorch_model.bin")
    os.remove(path / "model.safetensors")
    with pytest.raises(ValueError, match="allow_pickle"):
        SiameseModel.from_pretrained(path, device="cpu")
    loaded = SiameseModel.from_pretrained(path, device="cpu", allow_pickle=True)
    np.testing.assert_allclose(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES), atol=1e-6)


def test_missing_path_errors(tmp_path):
    with pytest.raises(ValueError, match="no model directory"):
        SiameseModel.from_pretrained(str(tmp_path / "nope"))
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        SiameseModel.from_pretrained(f)


def test_loading_and_saving_print_no_progress_bars(tiny_model_dir, tmp_path, capfd):
    """#17: no "Loading weights" / "Writing model shards" bars, and transformers' settings are restored."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()  # as in a fresh process (a CLI test may have turned the bars off)
    capfd.readouterr()
    model = SiameseModel.from_pretrained(tiny_model_dir)
    model.save(tmp_path / "again")
    out, err = capfd.readouterr()
    assert "Loading weights" not in err + out and "Writing model shards" not in err + out
    assert hf_logging.is_progress_bar_enabled()  # the caller's setting is restored
