from __future__ import annotations

import pytest
import torch

from textsiam.encoders.pooling import Pooling, check_pooling_mode

TOKENS = torch.tensor(
    [
        [[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],  # last token is padding
        [[-1.0, 0.0], [5.0, 1.0], [2.0, 2.0]],
    ]
)  # (B=2, T=3, H=2)
MASK = torch.tensor([[1, 1, 0], [1, 1, 1]])


def test_mean_ignores_padding():
    out = Pooling("mean")(TOKENS, MASK)
    torch.testing.assert_close(out, torch.tensor([[2.0, 3.0], [2.0, 1.0]]))


def test_cls():
    torch.testing.assert_close(Pooling("cls")(TOKENS, MASK), TOKENS[:, 0])


def test_max_ignores_padding():
    out = Pooling("max")(TOKENS, MASK)
    torch.testing.assert_close(out, torch.tensor([[3.0, 4.0], [5.0, 2.0]]))


def test_weighted_mean():
    out = Pooling("weighted_mean")(TOKENS, MASK)
    first = (1 * TOKENS[0, 0] + 2 * TOKENS[0, 1]) / 3
    second = (1 * TOKENS[1, 0] + 2 * TOKENS[1, 1] + 3 * TOKENS[1, 2]) / 6
    torch.testing.assert_close(out, torch.stack([first, second]))


@pytest.mark.parametrize("mode", ["mean", "cls", "max", "weighted_mean"])
def test_padding_length_does_not_matter(mode):
    padded = torch.cat([TOKENS, torch.full((2, 4, 2), 7.0)], dim=1)
    mask = torch.cat([MASK, torch.zeros(2, 4, dtype=MASK.dtype)], dim=1)
    torch.testing.assert_close(Pooling(mode)(padded, mask), Pooling(mode)(TOKENS, MASK))


def test_aliases_and_errors():
    assert check_pooling_mode("weightedmean") == "weighted_mean"
    assert check_pooling_mode("cls_token") == "cls"
    with pytest.raises(ValueError, match="unknown pooling mode 'sum'"):
        Pooling("sum")
