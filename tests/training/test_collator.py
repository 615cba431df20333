"""The collator: tokenised features per text column, typed labels."""

from __future__ import annotations

import pytest
import torch

from textsiam.training import SiameseDataCollator, TextAugmenter


def test_pair_batch_shapes(tiny_model):
    collate = SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype="float")
    rows = [
        {"text_a": "a man plays guitar", "text_b": "someone plays", "label": 0.8},
        {"text_a": "short", "text_b": "a much longer second text here", "label": 0.1},
        {"text_a": "", "text_b": "x", "label": 0.0},
    ]
    batch = collate(rows)
    assert set(batch) == {"features_a", "features_b", "labels"}
    assert batch["features_a"]["input_ids"].shape[0] == 3
    assert batch["features_b"]["attention_mask"].shape == batch["features_b"]["input_ids"].shape
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == pytest.approx([0.8, 0.1, 0.0])
    emb_a, emb_b = tiny_model(batch["features_a"], batch["features_b"])
    assert emb_a.shape == emb_b.shape == (3, tiny_model.embedding_dim)


def test_triplets_without_labels_and_class_labels(tiny_model):
    collate = SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype=None)
    batch = collate([{"text_a": "a", "text_b": "b", "text_c": "c"}, {"text_a": "d", "text_b": "e", "text_c": "f"}])
    assert set(batch) == {"features_a", "features_b", "features_c"}
    collate = SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype="long")
    batch = collate([{"text_a": "a", "label": 3}, {"text_a": "b", "label": 0}])
    assert set(batch) == {"features_a", "labels"} and batch["labels"].dtype == torch.int64
    collate = SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype="vector")
    batch = collate([{"text_a": "a", "label": [0.1, 0.2]}, {"text_a": "b", "label": [0.3, 0.4]}])
    assert batch["labels"].shape == (2, 2)


def test_truncation_is_counted_and_errors(tiny_model):
    collate = SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype=None)
    collate([{"text_a": "word " * 500}])
    assert collate.n_truncated == 1
    with pytest.raises(TypeError, match="text_a must be a string"):
        collate([{"text_a": None}])
    with pytest.raises(KeyError, match="'label'"):
        SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype="float")([{"text_a": "x", "text_b": "y"}])
    with pytest.raises(ValueError, match="label_dtype"):
        SiameseDataCollator(tiny_model.encoder.tokenize, label_dtype="int8")


def test_augmentation_follows_the_epoch(tiny_model):
    seen = []

    def tokenize(texts):
        seen.append(list(texts))
        return tiny_model.encoder.tokenize(texts)

    collate = SiameseDataCollator(tokenize, label_dtype=None, augmenter=TextAugmenter("delete", 0.4, seed=1))
    row = [{"text_a": "one two three four five six seven eight nine ten"}]
    collate(row)
    collate(row)
    collate.set_epoch(1)
    collate(row)
    assert seen[0] == seen[1] and seen[0] != seen[2]
