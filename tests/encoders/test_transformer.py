"""Any HF AutoModel checkpoint works as a tower, sentencepiece tokenizers included."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from textsiam import SiameseModel

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a man is playing a guitar on the stage",
    "how do i learn python",
    "what is the best way to learn python",
    "the cat sat on the mat",
    "stocks fell sharply on monday morning",
] * 20


@pytest.fixture(scope="module")
def spm_file(tmp_path_factory):
    sentencepiece = pytest.importorskip("sentencepiece")
    buf = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=buf,
        vocab_size=80,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]", "<mask>"],
        hard_vocab_limit=False,
        minloglevel=2,
    )
    path = tmp_path_factory.mktemp("spm") / "sp.model"
    path.write_bytes(buf.getvalue())
    return path


def _checkpoint(tmp_path, spm_file, arch: str):
    """Write a tiny random checkpoint of ``arch`` with a sentencepiece tokenizer, as a Hub download would be."""
    import shutil

    from transformers import AlbertConfig, AlbertModel, T5Config, T5Model, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    small = dict(num_attention_heads=2, intermediate_size=32)
    if arch == "albert":
        cfg = AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=16, num_hidden_layers=2, **small)
        model = AlbertModel(cfg)
        tok_cls, spm_name = "AlbertTokenizer", "spiece.model"
    elif arch == "xlm-roberta":
        model = XLMRobertaModel(XLMRobertaConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2, **small))
        tok_cls, spm_name = "XLMRobertaTokenizer", "sentencepiece.bpe.model"
    else:
        model = T5Model(T5Config(vocab_size=200, d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2))
        tok_cls, spm_name = "T5Tokenizer", "spiece.model"
    out = tmp_path / arch
    model.save_pretrained(out)
    shutil.copy(spm_file, out / spm_name)
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": tok_cls}))
    return out


@pytest.mark.parametrize("arch", ["albert", "xlm-roberta", "t5"])
def test_sentencepiece_architectures(tmp_path, spm_file, arch):
    src = _checkpoint(tmp_path, spm_file, arch)
    model = SiameseModel.from_pretrained(src, device="cpu", max_seq_length=32)
    if arch == "t5":
        assert type(model.encoder.model).__name__ == "T5EncoderModel"  # the encoder stack only
    texts = ["the cat sat", "learn python now", "a man is playing a guitar on the stage"]
    emb = model.encode(texts)
    assert emb.shape == (3, 16) and np.isfinite(emb).all()
    ids = model.tokenize(["the cat sat"])["input_ids"][0].tolist()
    assert len(set(ids)) > 2  # real pieces, not all-unknown
    np.testing.assert_allclose(np.stack([model.encode(t) for t in texts]), emb, atol=1e-5)
    reloaded = SiameseModel.from_pretrained(model.save(tmp_path / f"{arch}-saved"), device="cpu")
    np.testing.assert_array_equal(reloaded.encode(texts), emb)


@pytest.mark.parametrize("pooling", ["mean", "cls", "max", "weighted_mean"])
def test_pooling_modes_end_to_end(default_tokenizer, pooling):
    from helpers import make_tiny_model

    model = make_tiny_model(default_tokenizer, pooling=pooling).eval()
    feats = model.tokenize(["a b c", "a longer sentence here"])
    with torch.no_grad():
        tokens = model.encoder.model(input_ids=feats["input_ids"], attention_mask=feats["attention_mask"])
    hidden = tokens.last_hidden_state[1]  # the longer one has no padding
    expected = {
        "mean": hidden.mean(0),
        "cls": hidden[0],
        "max": hidden.max(0).values,
        "weighted_mean": (hidden * torch.arange(1, hidden.shape[0] + 1)[:, None]).sum(0)
        / torch.arange(1, hidden.shape[0] + 1).sum(),
    }[pooling]
    np.testing.assert_allclose(model.encode("a longer sentence here"), expected.numpy(), atol=1e-5)


def _make_st_dir(tmp_path, tiny_model, pooling_cfg: dict, dense: bool, normalize: bool):
    """A sentence-transformers style directory: Transformer -> Pooling -> [Dense] -> [Normalize]."""
    from safetensors.torch import save_file

    root = tmp_path / "st"
    tiny_model.encoder.model.save_pretrained(root)
    tiny_model.tokenizer.save_pretrained(root)
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48, "do_lower_case": False}))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **pooling_cfg}))
    if dense:
        torch.manual_seed(3)
        (root / "2_Dense").mkdir()
        (root / "2_Dense" / "config.json").write_text(
            json.dumps(
                {
                    "in_features": 32,
                    "out_features": 8,
                    "bias": True,
                    "activation_function": "torch.nn.modules.activation.Tanh",
                }
            )
        )
        save_file(
            {"linear.weight": torch.randn(8, 32) * 0.3, "linear.bias": torch.randn(8) * 0.1},
            str(root / "2_Dense" / "model.safetensors"),
        )
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    if normalize:
        modules.append(
            {
                "idx": len(modules),
                "name": str(len(modules)),
                "path": "3_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
    (root / "modules.json").write_text(json.dumps(modules))
    return root


@pytest.mark.parametrize(
    ("pooling_cfg", "expected", "dense", "normalize"),
    [
        ({"pooling_mode_mean_tokens": True}, "mean", False, True),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls", True, False),
        ({"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False}, "max", False, False),
        ({"pooling_mode_weightedmean_tokens": True, "pooling_mode_mean_tokens": False}, "weighted_mean", True, True),
    ],
)
def test_st_directory_layout_matches_sentence_transformers(
    tmp_path, tiny_model, pooling_cfg, expected, dense, normalize
):
    root = _make_st_dir(tmp_path, tiny_model, pooling_cfg, dense, normalize)
    model = SiameseModel.from_pretrained(root, device="cpu")
    assert model.config.pooling == expected
    assert model.normalize is normalize
    assert model.max_seq_length == 48
    assert model.embedding_dim == (8 if dense else 32)
    st = pytest.importorskip("sentence_transformers")
    peer = st.SentenceTransformer(str(root), device="cpu")
    texts = ["the cat sat on the mat", "x", "a somewhat longer sentence for the pooling test"]
    np.testing.assert_allclose(model.encode(texts), peer.encode(texts), atol=1e-5)
