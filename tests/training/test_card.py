"""The model card of a training run (#17: no local path in ``base_model:``)."""

from __future__ import annotations

import pytest

from textsiam.training.card import base_model_id


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (None, "sentence-transformers/all-MiniLM-L6-v2"),
        ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
        ("sentence-transformers/all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"),
        ("bert-base-uncased", "bert-base-uncased"),
        ("/home/me/models/start", None),
        ("./runs/stsb/model", None),
        ("~/m", None),
    ],
)
def test_base_model_is_a_hub_id_or_nothing(model, expected):
    assert base_model_id(model) == expected


def test_an_existing_local_folder_is_not_published(tmp_path):
    (tmp_path / "mymodel").mkdir()
    assert base_model_id(str(tmp_path / "mymodel")) is None
