"""Read and write the module layout of a sentence-transformers model directory without importing that library.

A sentence-transformers directory has ``modules.json`` listing its pipeline, e.g. Transformer ->
``1_Pooling`` -> ``2_Normalize``. We pick up the pooling mode, the optional ``Dense`` projection and
the ``Normalize`` step, and ``max_seq_length`` from ``sentence_bert_config.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from safetensors.torch import save_file

from textsiam.encoders.loading import read_json
from textsiam.model.projection import activation_name

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
    prompts: dict[str, str] = field(default_factory=dict)  # config_sentence_transformers.json: named prefixes
    default_prompt_name: str | None = None  # config_sentence_transformers.json: the prompt encode() uses by default
    similarity: str | None = None  # config_sentence_transformers.json: similarity_fn_name


def _pooling_from_config(cfg: dict[str, Any]) -> str:
    """textsiam's pooling mode for a sentence-transformers Pooling config; ``ValueError`` for what it cannot do
    (several modes at once, mean-sqrt-len, last token, prompts excluded) rather than pooling differently."""
    if cfg.get("include_prompt") is False:
        raise ValueError("Pooling with include_prompt=false is not supported by textsiam")
    mode = cfg.get("pooling_mode")
    if mode is None:
        flags = {
            "cls": "pooling_mode_cls_token",
            "mean": "pooling_mode_mean_tokens",
            "max": "pooling_mode_max_tokens",
            "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
            "weightedmean": "pooling_mode_weightedmean_tokens",
            "lasttoken": "pooling_mode_lasttoken",
        }
        on = [name for name, key in flags.items() if cfg.get(key)]
        if len(on) > 1:
            raise ValueError(f"Pooling with several modes at once ({', '.join(on)}) is not supported by textsiam")
        mode = on[0] if on else "mean"
    if mode not in ("mean", "cls", "max", "weightedmean"):
        raise ValueError(f"{mode!r} pooling is not supported by textsiam; choose mean, cls, max or weighted_mean")
    return {"weightedmean": "weighted_mean"}.get(mode, mode)


def check_module_path(folder: Any, modules_file: str | Path) -> str:
    """A ``modules.json`` path, checked to stay inside the model folder (relative, no ``..``, no drive)."""
    if not isinstance(folder, str):
        raise ValueError(f"{modules_file}: a module path must be a string, found {folder!r}")
    pure = PurePosixPath(folder.replace("\\", "/"))
    if folder.startswith(("/", "\\", "~")) or pure.is_absolute() or ".." in pure.parts or ":" in folder:
        raise ValueError(f"{modules_file}: module path {folder!r} points outside the model folder; refusing to load")
    return "" if folder in ("", ".") else pure.as_posix()


def read_modules(fetch: Callable[[str], Path | None]) -> tuple[Path, list[dict[str, Any]]] | None:
    """``modules.json`` of a sentence-transformers folder (``fetch`` as in :func:`read_st_layout`): its path and its
    entries, each a JSON object; ``None`` when there is none (a plain Hugging Face folder)."""
    modules_file = fetch("modules.json")
    if modules_file is None:
        return None
    modules = read_json(modules_file, expect=list)
    if not all(isinstance(m, dict) for m in modules):
        raise ValueError(f"{modules_file}: every entry must be a JSON object with 'type' and 'path'")
    return modules_file, modules


def read_st_layout(fetch: Callable[[str], Path | None]) -> STLayout | None:
    """Parse a sentence-transformers layout.

    Args:
        fetch: maps a relative file name (``"modules.json"``) to a local path, or ``None`` if absent.
            For a local directory it is a join; for a Hub name, a download.

    Returns:
        The layout, or ``None`` when there is no ``modules.json`` (a plain HF checkpoint).
    """
    found = read_modules(fetch)
    if found is None:
        return None
    modules_file, modules = found
    layout = STLayout()
    for module in sorted(modules, key=lambda m: m.get("idx", 0) if isinstance(m.get("idx", 0), int) else 0):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        folder = check_module_path(module.get("path", ""), modules_file)
        if kind == "Transformer":
            layout.transformer_path = folder
            sbert = fetch(f"{folder}/sentence_bert_config.json" if folder else "sentence_bert_config.json")
            if sbert is not None:
                layout.max_seq_length = read_json(sbert).get("max_seq_length")
        elif kind == "Pooling":
            cfg_file = fetch(f"{folder}/config.json")
            cfg = read_json(cfg_file) if cfg_file else {}
            layout.pooling = _pooling_from_config(cfg)
        elif kind == "Normalize":
            layout.normalize = True
        elif kind == "Dense":
            if layout.normalize:
                # textsiam normalises after its projection; this folder projects normalised vectors
                raise ValueError(
                    f"{modules_file}: a Normalize module comes before the Dense module {folder!r}; textsiam "
                    "applies Dense layers first and would compute other embeddings than sentence-transformers"
                )
            cfg_file = fetch(f"{folder}/config.json")
            if cfg_file is None:
                raise ValueError(f"Dense module {folder!r} has no config.json")
            cfg = read_json(cfg_file)
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
    st_config = fetch("config_sentence_transformers.json")
    if st_config is not None:
        st_settings = read_json(st_config)
        prompts = st_settings.get("prompts") or {}
        if not isinstance(prompts, dict) or not all(isinstance(v, (str, type(None))) for v in prompts.values()):
            raise ValueError(f"{st_config}: prompts must be a JSON object of strings")
        layout.prompts = {str(k): v or "" for k, v in prompts.items()}  # "" (no prefix) kept, as ST keeps it
        default = st_settings.get("default_prompt_name")
        if default is not None and default not in layout.prompts:
            raise ValueError(f"{st_config}: default_prompt_name {default!r} is not one of the prompts")
        layout.default_prompt_name = default
        similarity = st_settings.get("similarity_fn_name")
        if similarity is not None and similarity not in ST_SIMILARITIES:
            known = sorted(ST_SIMILARITIES)
            raise ValueError(f"{st_config}: unknown similarity_fn_name {similarity!r}; one of {known}")
        layout.similarity = similarity
    return layout


# ---------------------------------------------------------------------------------------------- writing
#: Pooling modes in sentence-transformers' naming (its ``Pooling`` config flags).
_ST_POOLING_FLAGS = {
    "cls": "pooling_mode_cls_token",
    "mean": "pooling_mode_mean_tokens",
    "max": "pooling_mode_max_tokens",
    "weighted_mean": "pooling_mode_weightedmean_tokens",
}
#: Similarity functions sentence-transformers knows by the same name and meaning.
ST_SIMILARITIES = frozenset({"cosine", "dot", "euclidean", "manhattan"})


class STLayoutError(ValueError):
    """The model cannot be written in sentence-transformers' layout (a tower that library cannot rebuild)."""


def st_layout_problem(model: Any) -> str | None:
    """Why ``model`` cannot be written as a sentence-transformers folder, or ``None`` if it can."""
    encoder_type = model.encoder.encoder_type
    if encoder_type != "transformer":
        return (
            f"sentence-transformers has no module for textsiam's {encoder_type!r} tower; it can load transformer "
            "towers only (save with st_layout=False, or load the folder with textsiam)"
        )
    if getattr(model.encoder, "quantize", None):
        return "a torch model quantised in memory cannot be saved"
    return None


def write_st_layout(model: Any, directory: Path, versions: dict[str, str]) -> None:
    """Write ``modules.json`` and the Pooling / Dense / Normalize module folders for ``model`` into ``directory``,
    where the transformer and its tokenizer already are, so that ``SentenceTransformer(directory)`` rebuilds the
    same pipeline (transformer -> pooling -> dense -> normalize) and gives the same embeddings.

    Raises:
        STLayoutError: the tower is not a transformer (see :func:`st_layout_problem`).
    """
    problem = st_layout_problem(model)
    if problem:
        raise STLayoutError(problem)
    dim = int(model.encoder.get_embedding_dimension())
    mode = model.encoder.pooling_mode
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]

    def add(kind: str, config: dict[str, Any] | None) -> Path:
        idx = len(modules)
        folder = f"{idx}_{kind}"
        modules.append({"idx": idx, "name": str(idx), "path": folder, "type": f"sentence_transformers.models.{kind}"})
        (directory / folder).mkdir()
        (directory / folder / "config.json").write_text(json.dumps(config or {}, indent=2) + "\n", encoding="utf-8")
        return directory / folder

    pooling = {"word_embedding_dimension": dim, "pooling_mode_mean_sqrt_len_tokens": False}
    pooling.update({flag: mode == name for name, flag in _ST_POOLING_FLAGS.items()})
    add("Pooling", pooling)
    if model.projection is not None:
        linear = model.projection.linear
        activation = {v: k for k, v in _ACTIVATIONS.items()}[activation_name(model.projection.activation)]
        folder = add(
            "Dense",
            {
                "in_features": int(linear.in_features),
                "out_features": int(linear.out_features),
                "bias": linear.bias is not None,
                "activation_function": activation,
            },
        )
        state = {k: v.detach().cpu().contiguous() for k, v in model.projection.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if model.normalize:
        add("Normalize", None)
    write = {
        "modules.json": modules,
        "sentence_bert_config.json": {"max_seq_length": int(model.max_seq_length), "do_lower_case": False},
        "config_sentence_transformers.json": {
            "__version__": versions,
            "prompts": dict(model.prompts),
            "default_prompt_name": model.default_prompt_name,
            **({"similarity_fn_name": model.similarity_fn_name} if model.similarity_fn_name in ST_SIMILARITIES else {}),
        },
    }
    for name, data in write.items():
        (directory / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
