"""Checked reading of model files: every failure is a ``ValueError`` that names the file and says what is wrong.

A model folder can be damaged in ways that still load: a missing ``tokenizer.json`` gives a tokenizer of a
handful of special tokens (every word becomes ``[UNK]``), missing tensors are initialised at random, a NaN in a
weight makes every score NaN. The helpers here turn each of those into an error at load time, so that a model
either loads as it was saved or does not load at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

#: Prefixes of weights that a tower never uses (BERT's pooler feeds only the next-sentence head): missing
#: ones are harmless, so they are not an error.
UNUSED_WEIGHT_PREFIXES: tuple[str, ...] = ("pooler.",)
#: First name components of the task heads of ``transformers`` models (masked-LM, pre-training, classification,
#: question answering, ...). A checkpoint of such a model loads as a tower: these tensors are ignored. Any other
#: tensor the model has no place for is an error (see :func:`check_loaded_keys`).
TASK_HEADS: frozenset[str] = frozenset(
    {
        "cls", "lm_head", "classifier", "pre_classifier", "qa_outputs", "score", "head", "decoder", "pooler",
        "predictions", "sop_classifier", "vocab_transform", "vocab_layer_norm", "vocab_projector",
        "discriminator_predictions", "generator_predictions", "generator_lm_head", "lm_loss", "sequence_summary",
        "logits_proj",
    }
)  # fmt: skip


def read_json(path: str | Path, expect: type = dict) -> Any:
    """Parse a JSON file; ``ValueError`` naming the file if it is not valid JSON or not of type ``expect``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid UTF-8 ({err.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, expect):
        what = {dict: "a JSON object", list: "a JSON list"}.get(expect, expect.__name__)
        raise ValueError(f"{path}: expected {what}, found {type(data).__name__}")
    return data


def strict_config_errors() -> tuple[type[BaseException], ...]:
    """The errors ``huggingface_hub``'s strict dataclasses raise for a ``config.json`` field of the wrong type or
    value (``transformers`` >= 5 configs are such dataclasses); none with older versions."""
    try:
        from huggingface_hub.errors import StrictDataclassError
    except ImportError:
        return ()
    return (StrictDataclassError,)


def load_config(source: str | Path, *, trust_remote_code: bool = False, **hub_kwargs: Any) -> Any:
    """``transformers.AutoConfig.from_pretrained(source)``, a broken ``config.json`` being a ``ValueError`` that names
    it: not valid JSON (``transformers`` says "not a valid JSON file" only), or a field of the wrong type or value
    (``huggingface_hub``'s ``StrictDataclassFieldValidationError``, which is no ``ValueError``)."""
    from transformers import AutoConfig

    local = Path(source).is_dir()
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, **hub_kwargs)
    except OSError as err:
        if local and "json" in str(err).lower():  # transformers' "not a valid JSON file": say why
            read_json(Path(source) / "config.json")
        raise
    except strict_config_errors() as err:
        inside = f"{hub_kwargs['subfolder']}/" if hub_kwargs.get("subfolder") else ""
        where = Path(source) / "config.json" if local else f"{source}: {inside}config.json"
        raise ValueError(f"{where}: {' '.join(str(err).split())}") from None


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; ``ValueError`` naming the file if it is truncated or not safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except SafetensorError as err:
        raise ValueError(f"{path}: not a readable safetensors file ({err}); it is damaged or incomplete") from None


def load_tokenizer(directory: str | Path, **kwargs: Any) -> Any:
    """``AutoTokenizer.from_pretrained`` whose failures on a local folder name the folder's tokenizer files."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory, **kwargs)
    except OSError:
        raise  # not found / offline: transformers' own message names what it looked for
    except Exception as err:  # garbage tokenizer.json (JSONDecodeError, tokenizers' Exception, ...)
        where = Path(directory) / "tokenizer.json" if Path(directory).is_dir() else directory
        raise ValueError(f"{where}: cannot load the tokenizer ({type(err).__name__}: {err})") from None


def check_vocabulary(tokenizer: Any, num_embeddings: int, where: str | Path) -> None:
    """Refuse a tokenizer that does not fit the model's embedding matrix of ``num_embeddings`` rows.

    More tokens than rows would index past the matrix; fewer than half the rows means the tokenizer files are
    missing or belong to another model (e.g. a folder without ``tokenizer.json`` / ``vocab.txt`` gives a
    tokenizer of only the special tokens, and every word becomes the unknown token). Models pad their matrix
    by a few rows at most, so real pairs pass.
    """
    size = len(tokenizer)
    if size > num_embeddings or size < num_embeddings // 2:
        raise ValueError(
            f"{where}: the tokenizer has {size} tokens but the model's embedding matrix has {num_embeddings} rows; "
            "the tokenizer files (tokenizer.json, vocab.txt, ...) are missing or belong to another model"
        )


def check_loaded_keys(
    missing: list[str], unexpected: list[str], own_prefixes: set[str], where: str | Path, strict: bool
) -> None:
    """Make missing or unexpected tensors an error (a warning naming them when ``strict=False``).

    Args:
        missing: weights the model has but the checkpoint lacks (they would stay randomly initialised).
        unexpected: checkpoint tensors the model has no place for.
        own_prefixes: first name components of the model's own modules (``embeddings``, ``encoder``, ...);
            unexpected tensors outside them that belong to a task head (:data:`TASK_HEADS`, e.g. a masked-LM
            head) are ignored; any other unexpected tensor counts.
        where: the checkpoint, for the message.
        strict: raise (``True``) or warn (``False``).
    """
    missing = [k for k in missing if not k.startswith(UNUSED_WEIGHT_PREFIXES)]
    unexpected = [k for k in unexpected if k.split(".", 1)[0] in own_prefixes or k.split(".", 1)[0] not in TASK_HEADS]
    if not missing and not unexpected:
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing tensor(s) ({_some(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensor(s) ({_some(unexpected)})")
    msg = f"{where}: the checkpoint does not match the model: {' and '.join(parts)}"
    if strict:
        raise ValueError(f"{msg}; the file is incomplete or from another model (strict=False loads it anyway)")
    logger.warning("%s; loading anyway (strict=False): missing ones are randomly initialised", msg)


def check_finite(module: nn.Module, where: str | Path) -> None:
    """``ValueError`` naming the first parameter or buffer that holds NaN or infinity."""
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{where}: weight {name!r} holds NaN or infinite values; the model cannot score")


def check_max_seq_length(value: Any) -> int:
    """``value`` as a positive int, else ``ValueError`` (booleans and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_seq_length must be a positive int, got {value!r}")
    return value


def position_limit(max_position_embeddings: Any, model_type: str | None, tokenizer: Any) -> int | None:
    """Most tokens a transformer can take: its position embeddings, less RoBERTa-style offsets, and the
    tokenizer's ``model_max_length`` when that is a real limit. ``None`` if neither is known."""
    limits = []
    if isinstance(max_position_embeddings, int) and not isinstance(max_position_embeddings, bool):
        offset = 2 if model_type in _OFFSET_POSITIONS else 0  # position ids start after the padding index
        limits.append(max_position_embeddings - offset)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    limits = [x for x in limits if x > 0 and math.isfinite(x)]
    return min(limits) if limits else None


#: Model types whose position ids start at ``padding_idx + 1`` (two positions fewer than the table).
_OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert", "longformer", "mpnet", "data2vec-text", "ibert"})


def weights_file(directory: Path) -> Path:
    """The weights file of a local checkpoint, for messages (``model.safetensors`` or its shard index)."""
    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        if (directory / name).is_file():
            return directory / name
    return directory / "model.safetensors"


def load_pretrained(
    model_cls: Any,
    source: str | Path,
    *,
    config: Any,
    weights: str | Path,
    trust_remote_code: bool,
    allow_pickle: bool,
    **hf_kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """``model_cls.from_pretrained(source, config=config, ...)`` and its loading info, from safetensors only unless
    ``allow_pickle``. Pickled weights refused, a damaged safetensors file and tensors whose shapes do not fit the
    config are each a ``ValueError`` naming ``weights`` (the file, for messages)."""
    from safetensors import SafetensorError

    try:
        with quiet_transformers():
            model, info = model_cls.from_pretrained(
                source,
                config=config,
                trust_remote_code=trust_remote_code,
                use_safetensors=None if allow_pickle else True,
                output_loading_info=True,
                **{"ignore_mismatched_sizes": True, **hf_kwargs},  # reported below, naming the tensors
            )
    except OSError as err:
        if not allow_pickle and "safetensors" in str(err).lower():
            raise ValueError(
                f"{source} has no safetensors weights. textsiam refuses pickled (.bin) checkpoints by default "
                "because unpickling can run arbitrary code; pass allow_pickle=True if you trust the source "
                "(it is then loaded with weights_only=True)."
            ) from err
        raise
    except SafetensorError as err:
        raise ValueError(f"{weights}: not a readable safetensors file ({err}); it is damaged or incomplete") from None
    except RuntimeError as err:  # tensor shapes that do not fit config.json
        if "mismatch" in str(err).lower() or "size" in str(err).lower():
            raise ValueError(
                f"{weights}: tensor shapes do not match the model described by config.json ({err})"
            ) from None
        raise
    mismatched = sorted(info.get("mismatched_keys", []), key=str)
    if mismatched:
        shown = ", ".join(f"{m[0]} (file {tuple(m[1])}, model {tuple(m[2])})" for m in mismatched[:3])
        raise ValueError(
            f"{weights}: {len(mismatched)} tensor(s) have shapes that do not fit config.json: {shown}"
            + (", ..." if len(mismatched) > 3 else "")
        )
    return model, info


def _some(keys: list[str], n: int = 5) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... {len(keys) - n} more" if len(keys) > n else "")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No "Loading weights" / "Writing model shards" bars and no load report from ``transformers`` inside the
    block (textsiam checks what it loads and reports problems itself); the settings are restored after."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
