"""``SiameseLoss.get_config``: the arguments a run records for a loss object, and that rebuild it."""

from __future__ import annotations

import pytest

from textsiam.losses import LOSSES, CoSENTLoss, OnlineContrastiveLoss, get_loss

SETTINGS = {"softmax": {"embedding_dim": 8, "num_labels": 3}}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_get_config_rebuilds_the_same_settings(name):
    loss = get_loss(name, **SETTINGS.get(name, {}))
    config = loss.get_config()
    assert get_loss(name, **config).get_config() == config


def test_get_config_records_what_the_constructor_was_given():
    assert CoSENTLoss(scale=10.0).get_config() == {"scale": 10.0, "similarity": "cosine"}
    assert OnlineContrastiveLoss(margin=0.3, distance="euclidean").get_config()["margin"] == 0.3
