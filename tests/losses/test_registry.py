from __future__ import annotations

import inspect
import pathlib

import pytest
from torch import nn

import textsiam.losses as losses
from textsiam.losses import LABEL_KINDS, LOSS_LABEL_KIND, LOSSES, get_loss

EXPECTED = {
    "contrastive": "binary",
    "online_contrastive": "binary",
    "triplet": "triplet",
    "batch_all_triplet": "class",
    "batch_hard_triplet": "class",
    "batch_semi_hard_triplet": "class",
    "mnrl": "anchor_positive",
    "simcse": "anchor_positive",
    "cosent": "float",
    "cosine_similarity": "float",
    "softmax": "class",
    "mse": "teacher",
    "binary_cross_entropy": "float",
    "cross_entropy": "class",
    "cross_encoder_mse": "float",
}


def test_registry_keys_and_label_kinds() -> None:
    assert LOSS_LABEL_KIND == EXPECTED
    assert set(LOSSES) == set(EXPECTED)
    assert set(LOSS_LABEL_KIND.values()) <= set(LABEL_KINDS)
    for name, cls in LOSSES.items():
        assert cls.label_kind == LOSS_LABEL_KIND[name]


def test_registry_covers_every_exported_loss() -> None:
    exported = {
        obj for name in losses.__all__ if inspect.isclass(obj := getattr(losses, name)) and issubclass(obj, nn.Module)
    }
    assert exported - {losses.SiameseLoss} == set(LOSSES.values())
    assert len(set(LOSSES.values())) == len(LOSSES)


def test_get_loss() -> None:
    assert isinstance(get_loss("cosent", scale=10.0), LOSSES["cosent"])
    assert get_loss("softmax", embedding_dim=4, num_labels=3).classifier.out_features == 3
    with pytest.raises(ValueError, match="unknown loss 'nope'; choose one of"):
        get_loss("nope")


def test_every_class_is_documented() -> None:
    for cls in LOSSES.values():
        doc = inspect.getdoc(cls) or ""
        for section in ("Args:", "References:", "Inputs:", "Example:"):
            assert section in doc, f"{cls.__name__} docstring lacks {section}"


def test_no_sentence_transformers_import() -> None:
    pkg = pathlib.Path(losses.__file__).parent
    for path in pkg.rglob("*.py"):
        assert "sentence_transformers" not in path.read_text(), path


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_declares_what_it_needs(name: str) -> None:
    """The trainer, collator and config read these attributes; no code outside losses/ knows a loss by name."""
    from textsiam.losses import BATCH_MODES, LABEL_KINDS, MODEL_TYPES, SiameseLoss

    cls = LOSSES[name]
    assert issubclass(cls, SiameseLoss)
    assert cls.label_kind in LABEL_KINDS and cls.batch_mode in BATCH_MODES
    assert cls.model_type in MODEL_TYPES
    assert (cls.batch_mode == "logits") is (cls.model_type == "cross_encoder")  # logits: a cross-encoder's loss
    assert isinstance(cls.min_batch_size, int) and cls.min_batch_size >= 1
    if cls.in_batch_negatives:
        assert cls.min_batch_size >= 2
