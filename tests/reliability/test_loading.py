"""#15 items 3, 4, 6, 9 (loader side) and 11: a model loads as it was saved, or not at all, with a clear error."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SENTENCES
from safetensors.torch import load_file, save_file

from textsiam.model.siamese import SiameseModel

PAIR = ("How do I learn Python?", "What is the capital of France?")


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """A private copy of the saved tiny model, to damage."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _edit_weights(folder: Path, edit) -> None:  # noqa: ANN001
    state = load_file(str(folder / "model.safetensors"))
    save_file(edit(state), str(folder / "model.safetensors"), metadata={"format": "pt"})


def _edit_json(path: Path, edit) -> None:  # noqa: ANN001
    data = json.loads(path.read_text())
    path.write_text(json.dumps(edit(data)))


# ---------------------------------------------------------------------------------------------- item 3
def test_missing_tokenizer_files_are_an_error_not_unk_scores(model_copy):
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match=r"tokenizer has \d+ tokens but the model's embedding matrix has 30522"):
        SiameseModel.from_pretrained(model_copy)


def test_tokenizer_larger_than_the_embedding_matrix_is_an_error(model_copy):
    _edit_json(model_copy / "config.json", lambda c: {**c, "vocab_size": 1000})
    _edit_weights(
        model_copy,
        lambda s: {k: (v[:1000] if k == "embeddings.word_embeddings.weight" else v) for k, v in s.items()},
    )
    with pytest.raises(ValueError, match="the tokenizer has 30522 tokens"):
        SiameseModel.from_pretrained(model_copy)


def test_garbage_tokenizer_json_names_the_file(model_copy):
    (model_copy / "tokenizer.json").write_text("garbage{")
    with pytest.raises(ValueError, match=r"tokenizer\.json: cannot load the tokenizer"):
        SiameseModel.from_pretrained(model_copy)


# ---------------------------------------------------------------------------------------------- item 4
def test_missing_tensors_are_an_error(model_copy):
    _edit_weights(model_copy, lambda s: {k: v for k, v in s.items() if "layer.1." not in k})
    with pytest.raises(ValueError, match=r"model\.safetensors: .*16 missing tensor\(s\) \(encoder\.layer\.1\."):
        SiameseModel.from_pretrained(model_copy)


def test_strict_false_loads_with_a_warning_naming_them(model_copy, caplog):
    _edit_weights(model_copy, lambda s: {k: v for k, v in s.items() if "layer.1." not in k})
    with caplog.at_level(logging.WARNING, logger="textsiam"):
        model = SiameseModel.from_pretrained(model_copy, strict=False)
    assert "missing tensor(s) (encoder.layer.1." in caplog.text
    assert isinstance(model.similarity(*PAIR), float)


def test_unexpected_tensors_of_the_model_are_an_error(model_copy):
    _edit_weights(model_copy, lambda s: {**s, "encoder.layer.5.attention.self.query.weight": torch.zeros(32, 32)})
    with pytest.raises(ValueError, match=r"1 unexpected tensor\(s\) \(encoder\.layer\.5"):
        SiameseModel.from_pretrained(model_copy)


@pytest.mark.parametrize("name", ["extra_tensor", "foo.bar", "bert.extra"])
def test_an_unknown_tensor_outside_the_model_is_an_error(model_copy, name, caplog):
    """#24 item 6: a tensor that is neither the model's nor a task head's is named, not ignored."""
    _edit_weights(model_copy, lambda s: {**s, name: torch.zeros(3)})
    with pytest.raises(ValueError, match=rf"1 unexpected tensor\(s\) \({re.escape(name)}\)"):
        SiameseModel.from_pretrained(model_copy)
    with caplog.at_level(logging.WARNING, logger="textsiam"):
        assert SiameseModel.from_pretrained(model_copy, strict=False) is not None
    assert f"1 unexpected tensor(s) ({name})" in caplog.text


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_an_integer_weight_is_an_error_naming_the_tensor_and_dtype(model_copy, dtype):
    """#24 item 7: a weight stored as int64 would load as its values rounded to integers (zeros)."""
    key = "encoder.layer.0.attention.self.query.weight"
    _edit_weights(model_copy, lambda s: {**s, key: s[key].to(dtype)})
    shown = str(dtype).removeprefix("torch.")
    with pytest.raises(ValueError, match=rf"model\.safetensors: tensor '{re.escape(key)}' is stored as {shown}"):
        SiameseModel.from_pretrained(model_copy)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_floating_dtypes_load_cast(model_copy, tiny_model_dir, dtype):
    """float16 / bfloat16 / float64 weights are fine: cast to the model's float32."""
    _edit_weights(model_copy, lambda s: {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in s.items()})
    got = SiameseModel.from_pretrained(model_copy, device="cpu").encode(SENTENCES)
    want = SiameseModel.from_pretrained(tiny_model_dir, device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(got, want, rtol=0, atol=0.05)


def test_an_integer_weight_of_an_lstm_tower_is_an_error(tmp_path):
    path = SiameseModel.lstm(hidden_size=8, seed=0).save(tmp_path / "lstm")
    key = next(k for k in load_file(str(path / "model.safetensors")) if "lstm" in k and "weight" in k)
    _edit_weights(path, lambda s: {**s, key: s[key].long()})
    with pytest.raises(ValueError, match=rf"tensor '{re.escape(key)}' is stored as int64"):
        SiameseModel.from_pretrained(path)


def _assert_same_embeddings(edited: Path, unedited: Path) -> None:
    """The model loaded from ``edited`` embeds texts as the one loaded from ``unedited`` does (same weights)."""
    texts = [*SENTENCES, *PAIR]
    got = SiameseModel.from_pretrained(edited, device="cpu").encode(texts, batch_size=4)
    want = SiameseModel.from_pretrained(unedited, device="cpu").encode(texts, batch_size=4)
    assert got.shape == want.shape == (len(texts), 32)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_head_tensors_of_another_task_are_ignored(model_copy, tiny_model_dir):
    """A masked-LM checkpoint loads as a tower: its head is not part of the encoder, the encoder is unchanged."""
    _edit_weights(model_copy, lambda s: {**s, "cls.predictions.bias": torch.zeros(30522)})
    _assert_same_embeddings(model_copy, tiny_model_dir)


def test_missing_unused_pooler_is_not_an_error(model_copy, tiny_model_dir):
    """Mean pooling never reads BERT's pooler: without its tensors the model embeds exactly as before."""
    _edit_weights(model_copy, lambda s: {k: v for k, v in s.items() if not k.startswith("pooler.")})
    _assert_same_embeddings(model_copy, tiny_model_dir)


def test_non_finite_weights_are_an_error(model_copy):
    def poison(state):  # noqa: ANN001, ANN202
        state["encoder.layer.0.output.dense.weight"][0, 0] = float("nan")
        return state

    _edit_weights(model_copy, poison)
    with pytest.raises(ValueError, match=r"'encoder\.layer\.0\.output\.dense\.weight' holds NaN"):
        SiameseModel.from_pretrained(model_copy)


def test_lstm_tower_checks_its_tensors(tmp_path):
    path = SiameseModel.lstm(hidden_size=8, seed=0).save(tmp_path / "lstm")
    _edit_weights(path, lambda s: {k: v for k, v in s.items() if "lstm" not in k})
    with pytest.raises(ValueError, match="missing tensor"):
        SiameseModel.from_pretrained(path)
    assert SiameseModel.from_pretrained(path, strict=False) is not None


def test_projection_weights_are_checked(tiny_model, tmp_path):
    from textsiam.model.siamese import Projection

    tiny_model.projection = Projection(32, 8)
    path = tiny_model.save(tmp_path / "proj")
    save_file({"linear.weight": torch.zeros(4, 32)}, str(path / "projection.safetensors"))
    with pytest.raises(ValueError, match=r"projection\.safetensors: does not fit"):
        SiameseModel.from_pretrained(path)


def test_custom_code_in_a_checkpoint_is_not_run_by_default(model_copy, tmp_path):
    """docs/reliability.md: ``trust_remote_code`` is off by default; a folder shipping modelling code is refused."""
    witness = tmp_path / "code-ran"
    _edit_json(
        model_copy / "config.json",
        lambda c: {
            **c,
            "model_type": "custombert",
            "auto_map": {"AutoConfig": "modeling_custom.CustomConfig", "AutoModel": "modeling_custom.CustomModel"},
        },
    )
    (model_copy / "modeling_custom.py").write_text(
        f"import pathlib\npathlib.Path({str(witness)!r}).write_text('ran')\n"
        "from transformers import BertConfig, BertModel\n"
        "class CustomConfig(BertConfig):\n    model_type = 'custombert'\n"
        "class CustomModel(BertModel):\n    config_class = CustomConfig\n"
    )
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        SiameseModel.from_pretrained(model_copy)
    assert not witness.exists()


# ---------------------------------------------------------------------------------------------- item 6
def test_max_seq_length_is_capped_at_the_position_limit(tiny_model_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="textsiam"):
        model = SiameseModel.from_pretrained(tiny_model_dir, max_seq_length=100_000)
    assert model.max_seq_length == 128  # the tiny BERT's max_position_embeddings
    assert caplog.text.count("more than this model can take") == 1
    long_text = "word " * 3000
    assert isinstance(model.similarity(long_text, "word"), float)  # no crash inside BERT


def test_max_seq_length_from_textsiam_json_is_capped(model_copy):
    _edit_json(model_copy / "textsiam.json", lambda c: {**c, "max_seq_length": 100_000})
    assert SiameseModel.from_pretrained(model_copy).max_seq_length == 128


def test_max_seq_length_setter_caps_and_checks(tiny_model):
    tiny_model.max_seq_length = 10_000
    assert tiny_model.max_seq_length == 128
    for bad in (0, -1, True, 3.5, "64"):
        with pytest.raises(ValueError, match="max_seq_length must be a positive int"):
            tiny_model.max_seq_length = bad


def test_default_model_caps_at_512():
    model = SiameseModel.from_pretrained(max_seq_length=100_000)
    assert model.max_seq_length == 512


# ---------------------------------------------------------------------------------------------- item 9 (loader)
@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda d: (d / "model.safetensors").write_bytes(b"x" * 5000),
            r"model\.safetensors: not a readable safetensors",
        ),
        (
            lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:1000]),
            r"model\.safetensors: not a readable safetensors",
        ),
        (lambda d: (d / "textsiam.json").write_text("[1, 2]"), r"textsiam\.json: expected a JSON object, found list"),
        (lambda d: (d / "textsiam.json").write_text("{bad"), r"textsiam\.json: not valid JSON"),
        (lambda d: (d / "config.json").write_text("{bad"), r"config\.json: not valid JSON"),
        (
            lambda d: _edit_json(d / "textsiam.json", lambda c: {**c, "max_seq_length": "abc"}),
            r"textsiam\.json: max_seq_length must be a non-negative integer, found 'abc'",
        ),
        (
            lambda d: _edit_json(d / "textsiam.json", lambda c: {**c, "normalize": "false"}),
            r"textsiam\.json: normalize must be true or false, found 'false'",
        ),
        (
            lambda d: _edit_json(d / "config.json", lambda c: {**c, "hidden_size": 64, "intermediate_size": 128}),
            r"model\.safetensors: \d+ tensor\(s\) have shapes that do not fit config\.json",
        ),
        (  # huggingface_hub's strict dataclasses (transformers >= 5) raise their own error type
            lambda d: _edit_json(d / "config.json", lambda c: {**c, "hidden_size": "x"}),
            r"config\.json: .*hidden_size",
        ),
    ],
    ids=[
        "garbage-weights",
        "truncated-weights",
        "config-list",
        "config-bad-json",
        "hf-config-bad-json",
        "string-for-int",
        "string-for-bool",
        "shape-mismatch",
        "hf-config-wrong-type",
    ],
)
def test_damaged_model_files_give_a_value_error_naming_the_file(model_copy, edit, match):
    edit(model_copy)
    with pytest.raises(ValueError, match=match) as info:
        SiameseModel.from_pretrained(model_copy)
    assert str(model_copy) in str(info.value)


# ---------------------------------------------------------------------------------------------- item 11
def _st_copy(tmp_path: Path) -> Path:
    from textsiam.model.siamese import default_model_path

    return Path(shutil.copytree(default_model_path(), tmp_path / "st"))


@pytest.mark.parametrize("bad", ["/etc", "../outside", "1_Pooling/../../outside", "~/x", "C:\\models\\x"])
def test_modules_json_paths_must_stay_inside_the_model_folder(tmp_path, bad):
    folder = _st_copy(tmp_path)
    outside = tmp_path / "outside"
    shutil.copytree(folder / "1_Pooling", outside)
    (outside / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    _edit_json(folder / "modules.json", lambda mods: [{**m, "path": bad} if m["idx"] == 1 else m for m in mods])
    with pytest.raises(ValueError, match="points outside the model folder"):
        SiameseModel.from_pretrained(folder)


@pytest.mark.parametrize("module", ["1_Pooling", ""])
def test_a_module_folder_linked_out_of_the_model_folder_is_refused(tmp_path, module):
    """#24 item 8: a ``1_Pooling`` (or transformer sub-folder) that is a symbolic link to a folder outside the model
    is refused like a ``modules.json`` path with ``..``."""
    folder = _st_copy(tmp_path)
    outside = tmp_path / "outside"
    if module:
        shutil.move(folder / module, outside)
        (outside / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
        (folder / module).symlink_to(outside, target_is_directory=True)
    else:  # the transformer in a linked sub-folder "0_Transformer"
        outside.mkdir()
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
            shutil.move(folder / name, outside / name)
        (folder / "0_Transformer").symlink_to(outside, target_is_directory=True)
        _edit_json(
            folder / "modules.json", lambda mods: [{**m, "path": "0_Transformer"} if m["idx"] == 0 else m for m in mods]
        )
    with pytest.raises(
        ValueError, match=r"leads through a symbolic link to .*outside.*points outside the model folder"
    ):
        SiameseModel.from_pretrained(folder)


def test_files_linked_like_the_hugging_face_cache_still_load(tmp_path):
    """A snapshot folder of the Hugging Face cache links each file to a blob elsewhere: that is fine."""
    folder = _st_copy(tmp_path)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    for path in [folder / "model.safetensors", folder / "1_Pooling" / "config.json"]:
        blob = blobs / f"{path.parent.name}-{path.name}"
        shutil.move(path, blob)
        path.symlink_to(blob)
    assert SiameseModel.from_pretrained(folder, device="cpu").encode("a text").shape == (384,)


def test_modules_json_must_be_a_list_of_objects(tmp_path):
    folder = _st_copy(tmp_path)
    (folder / "modules.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r"modules\.json: expected a JSON list"):
        SiameseModel.from_pretrained(folder)


def test_saved_model_still_round_trips(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "ok")
    loaded = SiameseModel.from_pretrained(path)
    assert loaded.similarity(*PAIR) == pytest.approx(tiny_model.similarity(*PAIR), abs=1e-6)


def test_cli_max_seq_length_beyond_the_model_is_capped(tiny_model_dir, capsys):
    from textsiam.cli import main

    long_text = "word " * 3000
    assert main(["score", long_text, "word", "-m", str(tiny_model_dir), "--max-seq-length", "100000", "-q"]) == 0
    assert 0.0 <= abs(float(capsys.readouterr().out.strip())) <= 1.0


@pytest.mark.parametrize(
    ("pooling", "match"),
    [
        ({"pooling_mode_mean_sqrt_len_tokens": True}, "'mean_sqrt_len' pooling is not supported"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}, "several modes at once"),
        ({"pooling_mode_lasttoken": True}, "'lasttoken' pooling is not supported"),
        ({"pooling_mode": "mean", "include_prompt": False}, "include_prompt=false"),
    ],
)
def test_st_pooling_that_textsiam_cannot_reproduce_is_an_error(tmp_path, pooling, match):
    """Never pool differently from sentence-transformers in silence (that would change the numbers)."""
    folder = _st_copy(tmp_path)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 384, **pooling}))
    with pytest.raises(ValueError, match=match):
        SiameseModel.from_pretrained(folder)
