"""Read the module layout of a sentence-transformers model directory without importing that library.

A sentence-transformers directory has ``modules.json`` listing its pipeline, e.g. Transformer ->
``1_Pooling`` -> ``2_Normalize``. We pick up the pooling mode, the optional ``Dense`` projection and
the ``Normalize`` step, and ``max_seq_length`` from ``sentence_bert_config.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

logger = logging.getLogger(__name__)

_ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
}


@dataclass
class STLayout:
    """What textsiam needs from a sentence-transformers pipeline."""

    transformer_path: str = ""  # sub-folder holding the HF model ("" = the root)
    pooling: str | None = None  # pooling mode, textsiam naming
    normalize: bool = False  # a Normalize module follows pooling
    max_seq_length: int | None = None  # from sentence_bert_config.json
    dense: list[dict[str, Any]] | None = None  # Dense modules: folder, in/out features, bias, activation


def _pooling_from_config(cfg: dict[str, Any]) -> str:
    if cfg.get("pooling_mode") in ("mean", "cls", "max", "weightedmean", "lasttoken"):
        mode = cfg["pooling_mode"]
    elif cfg.get("pooling_mode_cls_token"):
        mode = "cls"
    elif cfg.get("pooling_mode_max_tokens"):
        mode = "max"
    elif cfg.get("pooling_mode_weightedmean_tokens"):
        mode = "weightedmean"
    elif cfg.get("pooling_mode_lasttoken"):
        mode = "lasttoken"
    else:
        mode = "mean"
    if mode == "lasttoken":
        raise ValueError("last-token pooling is not supported by textsiam; choose mean, cls, max or weighted_mean")
    return {"weightedmean": "weighted_mean"}.get(mode, mode)


def read_st_layout(fetch: Callable[[str], Path | None]) -> STLayout | None:
    """Parse a sentence-transformers layout.

    Args:
        fetch: maps a relative file name (``"modules.json"``) to a local path, or ``None`` if absent.
            For a local directory it is a join; for a Hub name, a download.

    Returns:
        The layout, or ``None`` when there is no ``modules.json`` (a plain HF checkpoint).
    """
    modules_file = fetch("modules.json")
    if modules_file is None:
        return None
    modules = json.loads(Path(modules_file).read_text(encoding="utf-8"))
    layout = STLayout()
    for module in sorted(modules, key=lambda m: m.get("idx", 0)):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        folder = module.get("path", "")
        if kind == "Transformer":
            layout.transformer_path = folder
            sbert = fetch(f"{folder}/sentence_bert_config.json" if folder else "sentence_bert_config.json")
            if sbert is not None:
                layout.max_seq_length = json.loads(Path(sbert).read_text(encoding="utf-8")).get("max_seq_length")
        elif kind == "Pooling":
            cfg_file = fetch(f"{folder}/config.json")
            cfg = json.loads(Path(cfg_file).read_text(encoding="utf-8")) if cfg_file else {}
            layout.pooling = _pooling_from_config(cfg)
        elif kind == "Normalize":
            layout.normalize = True
        elif kind == "Dense":
            cfg_file = fetch(f"{folder}/config.json")
            if cfg_file is None:
                raise ValueError(f"Dense module {folder!r} has no config.json")
            cfg = json.loads(Path(cfg_file).read_text(encoding="utf-8"))
            activation = _ACTIVATIONS.get(cfg.get("activation_function", "torch.nn.modules.activation.Tanh"))
            if activation is None:
                raise ValueError(f"unsupported Dense activation {cfg.get('activation_function')!r}")
            weights = fetch(f"{folder}/model.safetensors")
            if weights is None:
                raise ValueError(f"Dense module {folder!r} has no model.safetensors (pickled weights are refused)")
            layout.dense = (layout.dense or []) + [
                {
                    "in_features": int(cfg["in_features"]),
                    "out_features": int(cfg["out_features"]),
                    "bias": bool(cfg.get("bias", True)),
                    "activation": activation,
                    "weights": str(weights),
                }
            ]
        else:
            raise ValueError(f"sentence-transformers module {module.get('type')!r} is not supported by textsiam")
    return layout
