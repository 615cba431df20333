"""The folders a cross-encoder is read from and written to, without importing sentence-transformers.

A cross-encoder is a Hugging Face ``*ForSequenceClassification`` transformer and its tokenizer. Three layouts
hold one:

* **sentence-transformers >= 6** (what :meth:`CrossEncoder.save <textsiam.CrossEncoder.save>` writes): the model
  and tokenizer at the root, ``modules.json`` naming one ``Transformer`` module, its ``sentence_bert_config.json``
  (``"transformer_task": "sequence-classification"``) and ``config_sentence_transformers.json``
  (``"model_type": "CrossEncoder"`` and the ``"activation_fn"`` that :meth:`predict` applies);
* **sentence-transformers < 6** (legacy): a plain Hugging Face folder whose ``config.json`` names the activation
  under ``"sentence_transformers": {"activation_fn": ...}`` (4.x, 5.x) or ``"sbert_ce_default_activation_function"``
  (before 4.0);
* **any other encoder** (a plain Hugging Face checkpoint, a sentence-transformers embedding model, a textsiam save):
  its transformer gets a new, randomly initialised head, as sentence-transformers does.

In every layout the maximum input length is the tokenizer's ``model_max_length`` (``tokenizer_config.json``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from torch import nn

from textsiam.encoders.loading import (
    check_finite,
    check_loaded_keys,
    check_max_seq_length,
    check_vocabulary,
    load_config,
    load_pretrained,
    load_tokenizer,
    position_limit,
    quiet_transformers,
    read_json,
    weights_file,
)
from textsiam.encoders.transformer import HUB_OPTIONS
from textsiam.encoders.weight_dtypes import check_checkpoint_dtypes
from textsiam.model.loading import (
    check_inside_folder,
    hub_fetch,
    local_fetch,
    recover_interrupted_save,
    resolve_embedded_name,
)
from textsiam.model.st_layout import check_module_path, read_modules

logger = logging.getLogger(__name__)

#: ``model_type`` of a sentence-transformers cross-encoder in ``config_sentence_transformers.json``.
CROSS_ENCODER_TYPE = "CrossEncoder"
ST_CONFIG_NAME = "config_sentence_transformers.json"
MODULE_CONFIG_NAME = "sentence_bert_config.json"
#: The ``modules.json`` entry and the module config sentence-transformers 6 writes for a cross-encoder.
ST_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
SEQUENCE_CLASSIFICATION = "sequence-classification"
TEXT_LOGITS = {"text": {"method": "forward", "method_output_name": "logits"}}
#: ``sentence_bert_config.json`` settings and the values of each that leave the scores as textsiam computes them
#: (``max_seq_length`` and the tokenizer's ``model_max_length`` are read; where files come from does not matter).
NEUTRAL_MODULE_SETTINGS: dict[str, tuple[Any, ...]] = {
    "transformer_task": (SEQUENCE_CLASSIFICATION,),
    "module_output_name": ("scores",),
    "modality_config": (None, TEXT_LOGITS),
    "do_lower_case": (None, False),
    "processing_kwargs": (None, {}),
    "unpad_inputs": (None, False, True),
    "query_length": (None,),
    "document_length": (None,),
    "query_expansion": (None,),
}
#: ``sentence_bert_config.json`` settings that pass keyword arguments to ``transformers``.
LOADER_SETTINGS = ("model_kwargs", "config_kwargs", "processor_kwargs", "model_args", "config_args", "tokenizer_args")
#: Keyword arguments ``CrossEncoder(...)`` passes on to ``transformers`` (where files come from).
CROSS_ENCODER_HF_OPTIONS = frozenset({"revision", "cache_dir", "token", "local_files_only", "force_download"})
#: Longest input when neither the tokenizer nor the model states a limit.
FALLBACK_MAX_LENGTH = 512


@dataclass
class CrossEncoderParts:
    """What a folder holds: the model and tokenizer, and the settings of :class:`~textsiam.CrossEncoder`."""

    model: Any
    tokenizer: Any
    max_length: int
    activation_path: str | None = None  # dotted path of the activation the folder names (None: the default)
    activation_source: str = ""  # the file that names it, for messages
    name: str = ""  # the folder or Hub name it came from
    prompts: dict[str, str] = field(default_factory=dict)


def load_cross_encoder_parts(
    name_or_path: str | os.PathLike | None,
    *,
    num_labels: int | None,
    max_length: int | None,
    trust_remote_code: bool,
    allow_pickle: bool,
    strict: bool,
    hf_kwargs: dict[str, Any],
) -> CrossEncoderParts:
    """Read a cross-encoder (or an encoder to put a new head on) from a folder or a Hub name; see
    :class:`~textsiam.CrossEncoder` for the arguments. Every failure is a ``ValueError`` naming the file."""
    unknown = sorted(set(hf_kwargs) - CROSS_ENCODER_HF_OPTIONS)
    if unknown:
        raise TypeError(
            f"CrossEncoder() got unexpected keyword argument(s) {unknown}; it takes textsiam's options and these "
            f"transformers options: {sorted(CROSS_ENCODER_HF_OPTIONS)}"
        )
    name = os.fspath(resolve_embedded_name(name_or_path))
    local = Path(name).expanduser()
    recover_interrupted_save(local, marker="config.json")  # a cross-encoder folder has no textsiam.json
    if local.exists() and not local.is_dir():
        raise ValueError(f"model path {name!r} is not a directory")
    if not local.exists() and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        raise ValueError(f"no model directory at {name!r} (and it is not a Hub name of the form 'org/name')")
    is_local = local.is_dir()
    fetch = local_fetch(local) if is_local else hub_fetch(name, hf_kwargs)
    layout = read_cross_encoder_layout(fetch)
    hub = dict(hf_kwargs)
    source: str | Path = local if is_local else name
    if layout["path"]:
        if is_local:
            check_inside_folder(local, local / layout["path"], layout["path"])
            source = local / layout["path"]
        else:
            hub["subfolder"] = layout["path"]
    model = load_sequence_classifier(
        source, num_labels=num_labels, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle,
        strict=strict, hub_kwargs=hub,
    )  # fmt: skip
    config = model.config
    legacy = getattr(config, "sentence_transformers", None)
    legacy_path = legacy.get("activation_fn") if isinstance(legacy, dict) else None
    legacy_path = legacy_path or getattr(config, "sbert_ce_default_activation_function", None)
    for key in ("sentence_transformers", "sbert_ce_default_activation_function"):  # not written again on save
        if hasattr(config, key):
            delattr(config, key)
    tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code, **hub)
    check_vocabulary(tokenizer, model.get_input_embeddings().num_embeddings, source)
    activation, where = layout["activation"], layout["activation_source"]
    if activation is None and legacy_path is not None:
        activation, where = legacy_path, f"{source}/config.json" if is_local else f"{name}: config.json"
        if not isinstance(activation, str):
            raise ValueError(
                f"{where}: the activation must be a dotted path such as 'torch.nn.Sigmoid', found {activation!r}"
            )
    return CrossEncoderParts(
        model=model,
        tokenizer=tokenizer,
        max_length=resolve_max_length(max_length, layout["max_length"], config, tokenizer),
        activation_path=activation,
        activation_source=where,
        name=name,
        prompts=layout["prompts"],
    )


def head_num_labels(name_or_path: str | os.PathLike | None, hf_kwargs: dict[str, Any] | None = None) -> int | None:
    """The outputs of the head that ``CrossEncoder(name_or_path)`` gets, from the folder's config files alone (no
    weights load): the ``num_labels`` of a trained ``*ForSequenceClassification`` head, 1 for an encoder that gets
    a new head. ``None`` when the files cannot be read here (the load itself then says why).

    A recipe chooses its default loss by it before the model loads, as :func:`textsiam.fit` does by the
    ``num_labels`` of the model in hand.
    """
    try:
        name = os.fspath(resolve_embedded_name(name_or_path))
        local = Path(name).expanduser()
        hub = dict(hf_kwargs or {})
        fetch = local_fetch(local) if local.is_dir() else hub_fetch(name, hub)
        path = read_cross_encoder_layout(fetch)["path"]
        source: str | Path = name
        if local.is_dir():
            source = local / path if path else local
        elif path:
            hub["subfolder"] = path
        config = load_config(source, **hub)
    except Exception as err:  # a broken or missing folder: the load raises the clear error
        logger.debug("cannot read the head of %s before loading it: %s", name_or_path, err)
        return None
    trained = any(str(a).endswith("ForSequenceClassification") for a in (config.architectures or []))
    return int(config.num_labels) if trained else 1


def read_cross_encoder_layout(fetch: Callable[[str], Path | None]) -> dict[str, Any]:
    """The layout of a folder: ``path`` of the transformer (``""``: the root), and what a sentence-transformers 6
    cross-encoder folder says about ``max_length``, ``activation`` (a dotted path or ``None``) and ``prompts``.

    A sentence-transformers folder of another kind (an embedding model) gives its transformer's path only: it gets
    a new head, and its settings do not describe a cross-encoder. A plain Hugging Face folder gives the root.
    """
    out: dict[str, Any] = {"path": "", "max_length": None, "activation": None, "activation_source": "", "prompts": {}}
    found = read_modules(fetch)
    if found is None:
        return out
    modules_file, modules = found
    st_file = fetch(ST_CONFIG_NAME)
    st_config = read_json(st_file) if st_file is not None else {}
    transformers_ = [m for m in modules if str(m.get("type", "")).rsplit(".", 1)[-1] == "Transformer"]
    if st_config.get("model_type") != CROSS_ENCODER_TYPE:  # an embedding model: its transformer, a new head
        if not transformers_:
            raise ValueError(f"{modules_file}: no Transformer module to build a cross-encoder on")
        out["path"] = check_module_path(transformers_[0].get("path", ""), modules_file)
        return out
    others = [str(m.get("type")) for m in modules if m not in transformers_]
    if len(transformers_) != 1 or others:
        raise ValueError(
            f"{modules_file}: textsiam reads cross-encoders of one Transformer module (a sequence-classification "
            f"model); this one has {[str(m.get('type')) for m in modules]}"
        )
    path = out["path"] = check_module_path(transformers_[0].get("path", ""), modules_file)
    module_file = fetch(f"{path}/{MODULE_CONFIG_NAME}" if path else MODULE_CONFIG_NAME)
    settings = read_json(module_file) if module_file is not None else {}
    check_module_settings(settings, module_file)
    out["max_length"] = settings.get("max_seq_length")
    for key in ("processor_kwargs", "tokenizer_args"):
        if isinstance(settings.get(key), dict) and settings[key].get("model_max_length") is not None:
            out["max_length"] = settings[key]["model_max_length"]
    activation = st_config.get("activation_fn")
    if activation is not None and not isinstance(activation, str):
        raise ValueError(
            f"{st_file}: activation_fn must be a dotted path such as 'torch.nn.Sigmoid', found {activation!r}"
        )
    out["activation"], out["activation_source"] = activation, str(st_file)
    prompts = st_config.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        raise ValueError(f"{st_file}: prompts must be a JSON object of strings")
    if st_config.get("default_prompt_name") is not None:
        raise ValueError(
            f"{st_file}: default_prompt_name {st_config['default_prompt_name']!r} puts a prompt in front of every "
            "pair; textsiam's CrossEncoder has no prompts"
        )
    out["prompts"] = {str(k): v for k, v in prompts.items()}
    return out


def check_module_settings(settings: dict[str, Any], where: Path | None) -> None:
    """``ValueError`` naming the first ``sentence_bert_config.json`` setting that would make sentence-transformers
    score differently from textsiam (another task, a per-call processing override, lower-casing, ...)."""
    for key, value in settings.items():
        if key == "max_seq_length":
            continue
        if key in LOADER_SETTINGS:
            if not isinstance(value, dict):
                raise ValueError(f"{where}: {key} must be a JSON object, found {value!r}")
            extra = sorted(set(value) - set(HUB_OPTIONS) - {"trust_remote_code", "model_max_length"})
            if extra:
                raise ValueError(f"{where}: {key} {extra} are not supported by textsiam's CrossEncoder")
        elif key not in NEUTRAL_MODULE_SETTINGS:
            raise ValueError(f"{where}: unknown setting {key!r}; textsiam cannot tell how it changes the scores")
        elif value not in NEUTRAL_MODULE_SETTINGS[key]:
            raise ValueError(f"{where}: {key}={value!r} is not supported by textsiam's CrossEncoder")


def load_sequence_classifier(
    source: str | Path,
    *,
    num_labels: int | None,
    trust_remote_code: bool,
    allow_pickle: bool,
    strict: bool,
    hub_kwargs: dict[str, Any],
) -> Any:
    """``AutoModelForSequenceClassification`` of ``source``, checked, in eval mode.

    A checkpoint of a ``*ForSequenceClassification`` model keeps its head (``num_labels`` must then match it); any
    other gets a new head of ``num_labels`` outputs (default 1). Missing or unexpected tensors other than the new
    head's, shapes that do not fit, NaN weights and pickled weights are ``ValueError`` naming the file.
    """
    from transformers import AutoModelForSequenceClassification

    config = load_config(source, trust_remote_code=trust_remote_code, **hub_kwargs)  # a broken config: ValueError
    trained = any(str(a).endswith("ForSequenceClassification") for a in (config.architectures or []))
    if trained and num_labels is not None and num_labels != config.num_labels:
        raise ValueError(
            f"{source}: its classification head has {config.num_labels} label(s), not num_labels={num_labels}; "
            "leave num_labels unset to use the head, or put a new head on the encoder it was trained from"
        )
    if not trained:
        config.num_labels = 1 if num_labels is None else num_labels
    weights = weights_file(Path(source)) if Path(source).is_dir() else source
    model, info = load_pretrained(
        AutoModelForSequenceClassification,
        source,
        config=config,
        weights=weights,
        trust_remote_code=trust_remote_code,
        allow_pickle=allow_pickle,
        **hub_kwargs,
    )
    missing = sorted(info.get("missing_keys", []))
    if not trained:  # the new head (and a pooler the encoder was saved without) start at random
        base = f"{model.base_model_prefix}."
        new = [k for k in missing if not k.startswith(base) or k.startswith(f"{base}pooler.")]
        logger.warning(
            "%s holds no trained classification head: a new one (%s) with %d output(s) starts at random; "
            "its scores mean nothing until it is trained",
            source,
            ", ".join(new),
            config.num_labels,
        )
        missing = [k for k in missing if k not in new]
    own = {n for n, _ in model.named_children()}
    check_loaded_keys(missing, sorted(info.get("unexpected_keys", [])), own, weights, strict)
    check_checkpoint_dtypes(model, source, hub_kwargs)
    check_finite(model, weights)
    return model.eval()


def resolve_max_length(explicit: int | None, saved: Any, config: Any, tokenizer: Any) -> int:
    """The maximum number of tokens of a pair: ``explicit`` (at most the model's positions), else what the folder's
    module config says, else the tokenizer's ``model_max_length`` capped at the positions the model has
    (:func:`~textsiam.encoders.loading.position_limit`, as for a twin tower: ``max_position_embeddings`` less the
    two of RoBERTa-style models, whose position ids start after the padding index)."""
    if explicit is not None:
        return check_max_length(explicit, config)
    if saved is not None:
        return check_max_length(saved)
    positions = getattr(config, "max_position_embeddings", None)
    value = position_limit(None if positions == -1 else positions, getattr(config, "model_type", None), tokenizer)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 1_000_000:
        logger.warning("no maximum length is known for this model; using %d tokens", FALLBACK_MAX_LENGTH)
        value = FALLBACK_MAX_LENGTH
    return value


def check_max_length(value: Any, config: Any = None) -> int:
    """``value`` as a positive int, at most the positions of the model of ``config`` if given; else ``ValueError``
    naming ``max_length``."""
    try:
        check_max_seq_length(value)
    except ValueError:
        raise ValueError(f"max_length must be a positive int, got {value!r}") from None
    if config is not None:
        positions = getattr(config, "max_position_embeddings", None)
        limit = position_limit(positions, getattr(config, "model_type", None), None)
        if limit is not None and value > limit:
            raise ValueError(f"max_length={value} exceeds the {limit} positions the model has")
    return value


# ---------------------------------------------------------------------------------------------- activations
def activation_path(activation: nn.Module) -> str:
    """The dotted path sentence-transformers stores for ``activation`` (its class), after checking that a new
    instance of that class is the same function: ``ValueError`` for a module with weights or settings that a
    class name cannot carry (``nn.Softmax(dim=1)``, ``nn.PReLU()``), or a class defined in a function."""
    cls = type(activation)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
        raise ValueError(f"activation_fn {activation!r} cannot be saved: its class {path} cannot be imported")
    if any(True for _ in activation.parameters()) or any(True for _ in activation.buffers()):
        raise ValueError(f"activation_fn {activation!r} has weights; a save names its class only ({path})")
    try:
        fresh = cls()
    except Exception as err:
        raise ValueError(f"activation_fn {activation!r} cannot be saved: {path}() fails ({err})") from None
    if repr(fresh) != repr(activation):
        raise ValueError(
            f"activation_fn {activation!r} cannot be saved: a save names its class only, and {path}() is "
            f"{fresh!r}; use a module whose settings are the defaults"
        )
    return path


def activation_from_path(path: str, trust_remote_code: bool, where: str) -> nn.Module:
    """A new instance of the ``torch.nn`` module class at dotted ``path`` (any importable class with
    ``trust_remote_code``); ``ValueError`` naming ``where`` otherwise."""
    module_name, _, class_name = path.rpartition(".")
    if not (module_name == "torch.nn" or module_name.startswith("torch.nn.")) and not trust_remote_code:
        raise ValueError(
            f"{where}: activation_fn {path!r} is not a torch.nn class; textsiam imports no other code from a model "
            "folder. Pass trust_remote_code=True if you trust it, or activation_fn= to choose the activation"
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"{where}: activation_fn {path!r} cannot be imported ({err})") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"{where}: activation_fn {path!r} is not a torch.nn.Module class")
    try:
        return cls()
    except Exception as err:
        raise ValueError(f"{where}: activation_fn {path}() fails ({err})") from None


# ---------------------------------------------------------------------------------------------- writing
def write_cross_encoder(model: Any, tokenizer: Any, directory: Path, settings: dict[str, Any]) -> None:
    """Write a cross-encoder into the existing, empty ``directory`` in sentence-transformers 6's layout.

    Args:
        settings: ``activation`` (dotted path), ``max_length``, ``prompts`` and ``versions``.

    ``config.json`` also names the activation under ``"sentence_transformers"``, where sentence-transformers 4 and
    5 read it, so those versions load the folder as the same model too.
    """
    with quiet_transformers():
        model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    # the activation where sentence-transformers 4 and 5 read it, the length where every version reads it
    update_json(directory / "config.json", {"sentence_transformers": {"activation_fn": settings["activation"]}})
    update_json(directory / "tokenizer_config.json", {"model_max_length": int(settings["max_length"])})
    files = {
        "modules.json": [{"idx": 0, "name": "0", "path": "", "type": ST_TRANSFORMER}],
        MODULE_CONFIG_NAME: {
            "transformer_task": SEQUENCE_CLASSIFICATION,
            "modality_config": TEXT_LOGITS,
            "module_output_name": "scores",
        },
        ST_CONFIG_NAME: {
            "__version__": settings["versions"],
            "activation_fn": settings["activation"],
            "default_prompt_name": None,
            "model_type": CROSS_ENCODER_TYPE,
            "prompts": dict(settings["prompts"]),
        },
    }
    for name, data in files.items():
        (directory / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def update_json(path: Path, entries: dict[str, Any]) -> None:
    """Set ``entries`` in the JSON object of file ``path`` (one just written by ``transformers``)."""
    data = read_json(path)
    data.update(entries)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


__all__ = [
    "CROSS_ENCODER_TYPE",
    "CrossEncoderParts",
    "activation_from_path",
    "activation_path",
    "head_num_labels",
    "load_cross_encoder_parts",
    "read_cross_encoder_layout",
    "write_cross_encoder",
]
