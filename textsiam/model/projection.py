"""The optional dense layer on top of the pooled embedding (sentence-transformers' ``Dense`` module)."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
}


class Projection(nn.Module):
    """Optional dense layer on top of the pooled embedding: ``(B, D_in) -> (B, D_out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "tanh") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown projection activation {activation!r}; choose one of {list(ACTIVATIONS)}")
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))  # (B, D_out)


def activation_name(module: nn.Module) -> str:
    for name, cls in ACTIVATIONS.items():
        if type(module) is cls:
            return name
    raise ValueError(f"unsupported activation {type(module).__name__}")
