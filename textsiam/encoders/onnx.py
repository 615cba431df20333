"""ONNX Runtime towers: a transformer exported to ONNX (optionally int8-quantised), run with ``onnxruntime``.

:func:`export_transformer` turns a :class:`~textsiam.encoders.TransformerEncoder` into an :class:`OnnxEncoder`:

1. the Hugging Face model (eager attention) is exported with ``torch.onnx.export`` (TorchScript exporter),
   dynamic batch and sequence axes, output ``last_hidden_state``;
2. ``onnxruntime.transformers.optimizer`` fuses it for BERT-like models (one ``Attention`` op per layer,
   ``SkipLayerNormalization``, ``BiasGelu``, ``EmbedLayerNormalization``);
3. with ``quantize="int8"``, ``onnxruntime.quantization.quantize_dynamic`` stores the weights of every
   ``MatMul`` and ``Attention`` as int8 with one scale per output channel, and activations are quantised
   on the fly (per tensor, uint8).

Pooling stays in torch (:class:`~textsiam.encoders.Pooling`), so every pooling mode works. The tower has no
torch parameters and cannot be trained: fine-tune the torch model, then export it.

Needs the optional extra: ``pip install "textsiam[onnx]"`` (``onnx`` and ``onnxruntime``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.encoders.loading import check_vocabulary, load_tokenizer, position_limit, read_json
from textsiam.encoders.pooling import Pooling

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
QUANTIZE_MODES: tuple[str | None, ...] = (None, "int8")
DEFAULT_MAX_SEQ_LENGTH = 512
# model types whose attention / layer-norm patterns onnxruntime's "bert" fusions recognise
_FUSABLE = {"bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert", "mpnet"}
_INSTALL_HINT = 'the ONNX backend needs the optional dependencies onnx and onnxruntime: pip install "textsiam[onnx]"'


@contextlib.contextmanager
def _quiet_third_party_logs() -> Any:
    """onnxruntime's optimiser and quantiser log every step at INFO (some on the root logger): mute them."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def require_onnxruntime() -> Any:
    """Import and return ``onnxruntime``, or raise ``ImportError`` saying how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    return onnxruntime


def check_quantize(quantize: str | None) -> str | None:
    """Return ``quantize`` if it is ``None`` or ``"int8"``, else raise ``ValueError``."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"unknown quantize mode {quantize!r}; choose one of {list(QUANTIZE_MODES)}")
    return quantize


class OnnxEncoder(Encoder):
    """A transformer tower run by ONNX Runtime on the CPU (inference only).

    Args:
        onnx_model: the serialised ONNX graph (``bytes``) taking ``input_ids``, ``attention_mask`` (and
            ``token_type_ids`` if the model has them) and returning ``last_hidden_state`` ``(B, T, H)``.
        tokenizer: the model's tokenizer.
        pooling: ``"mean"``, ``"cls"``, ``"max"`` or ``"weighted_mean"``.
        max_seq_length: inputs longer than this many tokens are truncated.
        hidden_size: ``H``, the embedding dimension.
        hf_config: the transformer's ``config.json`` content (saved alongside, for reference).
        quantize: ``None`` (float32 graph) or ``"int8"`` (dynamically quantised weights), as recorded.

    One ``onnxruntime.InferenceSession`` is created per thread count, lazily: the count in force when
    :meth:`forward` runs (``torch.get_num_threads()``, which ``encode(num_threads=...)``,
    ``torch.set_num_threads`` and ``OMP_NUM_THREADS`` set) is used for ``intra_op_num_threads``.
    """

    encoder_type = "onnx"

    def __init__(
        self,
        onnx_model: bytes,
        tokenizer: Any,
        pooling: str = "mean",
        max_seq_length: int | None = None,
        *,
        hidden_size: int,
        hf_config: dict[str, Any] | None = None,
        quantize: str | None = None,
    ) -> None:
        super().__init__()
        require_onnxruntime()
        if not isinstance(onnx_model, (bytes, bytearray)):
            raise TypeError(f"onnx_model must be the serialised graph (bytes), got {type(onnx_model).__name__}")
        self.onnx_model = bytes(onnx_model)
        self.tokenizer = tokenizer
        self.pooling = Pooling(pooling)
        self.hidden_size = int(hidden_size)
        self.hf_config = dict(hf_config or {})
        self.quantize = check_quantize(quantize)
        if max_seq_length is None:
            max_seq_length = min(self.max_positions() or DEFAULT_MAX_SEQ_LENGTH, DEFAULT_MAX_SEQ_LENGTH)
        self.max_seq_length = max_seq_length  # checked, and capped at max_positions() with one warning
        self._sessions: dict[int, Any] = {}
        self._input_names = [i.name for i in self._session(1).get_inputs()]

    # ------------------------------------------------------------------------------------------ runtime
    def _session(self, num_threads: int) -> Any:
        session = self._sessions.get(num_threads)
        if session is None:
            ort = require_onnxruntime()
            options = ort.SessionOptions()
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            session = ort.InferenceSession(self.onnx_model, options, providers=["CPUExecutionProvider"])
            session = self._sessions.setdefault(num_threads, session)  # encode's worker threads may race here
        return session

    @property
    def pooling_mode(self) -> str:
        return self.pooling.mode

    def max_positions(self) -> int | None:
        return position_limit(
            self.hf_config.get("max_position_embeddings"), self.hf_config.get("model_type"), self.tokenizer
        )

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for multi-process encoding): the ONNX Runtime sessions are rebuilt from the graph on use."""
        state = self.__dict__.copy()
        state["_sessions"] = {}
        return state

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Embed a tokenised batch with ONNX Runtime: ``features`` -> ``(B, H)`` float32 on the CPU."""
        return self.forward_features(features)["sentence_embedding"]

    def forward_features(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{"token_embeddings": (B, T, H) last hidden states, "sentence_embedding": (B, H) pooled}`` (CPU)."""
        if torch.is_grad_enabled():
            raise RuntimeError(
                "the ONNX backend is inference-only and cannot be trained; fine-tune the torch model "
                "(backend='torch') and export it afterwards. For inference use encode()/similarity(), "
                "or call the model under torch.no_grad()/torch.inference_mode()."
            )
        mask = features["attention_mask"]
        feed: dict[str, np.ndarray] = {}
        for name in self._input_names:
            value = features.get(name)
            if value is None:
                if name != "token_type_ids":
                    raise ValueError(f"the ONNX graph needs input {name!r}, which the features lack")
                value = torch.zeros_like(features["input_ids"])
            feed[name] = value.detach().to("cpu", torch.int64).numpy()
        hidden = torch.from_numpy(self._session(torch.get_num_threads()).run(None, feed)[0])  # (B, T, H)
        return {"token_embeddings": hidden, "sentence_embedding": self.pooling(hidden, mask.to("cpu"))}  # (B, H)

    # ------------------------------------------------------------------------------------------ contract
    def get_embedding_dimension(self) -> int:
        return self.hidden_size

    def encoder_config(self) -> dict[str, Any]:
        return {
            "onnx_file": ONNX_FILE,
            "quantize": self.quantize,
            "hidden_size": self.hidden_size,
            "model_type": self.hf_config.get("model_type"),
        }

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        (directory / ONNX_FILE).write_bytes(self.onnx_model)
        self.tokenizer.save_pretrained(directory)
        if self.hf_config:
            (directory / "config.json").write_text(json.dumps(self.hf_config, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any], **kwargs: Any) -> OnnxEncoder:
        """Load a saved ONNX tower; ``quantize="int8"`` quantises a float32 graph in memory."""
        require_onnxruntime()
        directory = Path(directory)
        onnx_file = config.get("onnx_file", ONNX_FILE)
        if not isinstance(onnx_file, str) or Path(onnx_file).name != onnx_file or onnx_file in ("", ".", ".."):
            raise ValueError(f"{directory / 'textsiam.json'}: onnx_file must be a file name inside the model folder")
        onnx_path = directory / onnx_file
        if not onnx_path.is_file():
            raise FileNotFoundError(f"no ONNX graph at {onnx_path}")
        hf_config: dict[str, Any] = {}
        if (directory / "config.json").is_file():
            hf_config = read_json(directory / "config.json")
        stored = config.get("quantize")
        wanted = check_quantize(kwargs.get("quantize", stored))
        data = onnx_path.read_bytes()
        if wanted == "int8" and stored is None:
            data = quantize_onnx(data)
        elif wanted is None and stored == "int8":
            raise ValueError(f"{directory} holds an int8-quantised graph; it cannot be loaded as float32")
        tokenizer = load_tokenizer(directory)
        vocab_size = hf_config.get("vocab_size")
        if isinstance(vocab_size, int) and not isinstance(vocab_size, bool):
            check_vocabulary(tokenizer, vocab_size, directory)
        try:
            return cls(
                data,
                tokenizer,
                pooling=config.get("pooling", "mean"),
                max_seq_length=config.get("max_seq_length"),
                hidden_size=int(config.get("hidden_size") or hf_config.get("hidden_size")),
                hf_config=hf_config,
                quantize=wanted,
            )
        except (ValueError, TypeError):
            raise
        except Exception as err:  # onnxruntime's own errors for a damaged graph
            raise ValueError(f"{onnx_path}: not a loadable ONNX graph ({type(err).__name__}: {err})") from None

    def extra_repr(self) -> str:
        return f"quantize={self.quantize!r}, hidden_size={self.hidden_size}, bytes={len(self.onnx_model)}"


# ---------------------------------------------------------------------------------------------- export
class _HiddenStates(nn.Module):
    """``(input_ids, attention_mask[, token_type_ids]) -> last_hidden_state``, for tracing."""

    def __init__(self, model: nn.Module, with_token_types: bool) -> None:
        super().__init__()
        self.model = model
        self.with_token_types = with_token_types

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.with_token_types:
            kwargs["token_type_ids"] = token_type_ids
        return self.model(**kwargs, return_dict=True).last_hidden_state


def _export_graph(model: nn.Module, with_token_types: bool, path: Path, opset: int) -> None:
    model = copy.deepcopy(model).to("cpu").float().eval()
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")  # the pattern onnxruntime's attention fusion recognises
        except Exception as err:  # noqa: BLE001 - some architectures only have one implementation
            logger.debug("keeping the model's attention implementation: %s", err)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_token_types else [])
    sample = torch.ones((2, 8), dtype=torch.int64)
    args = tuple(sample if n != "token_type_ids" else torch.zeros_like(sample) for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _HiddenStates(model, with_token_types),
            args,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
        )


def _fuse(path: Path, out: Path, hf_config: dict[str, Any]) -> bool:
    model_type = hf_config.get("model_type", "")
    heads = hf_config.get("num_attention_heads") or hf_config.get("n_heads")
    hidden = hf_config.get("hidden_size") or hf_config.get("dim")
    if model_type not in _FUSABLE or not heads or not hidden:
        logger.info("no onnxruntime fusions for model type %r; ONNX Runtime's graph optimiser still runs", model_type)
        return False
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with _quiet_third_party_logs():
            fused = optimize_model(
                str(path), model_type="bert", num_heads=int(heads), hidden_size=int(hidden), opt_level=0
            )
            fused.save_model_to_file(str(out))
        stats = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
        logger.info("onnxruntime fusions: %s", stats)
        return True
    except Exception as err:  # noqa: BLE001 - fusion is an optimisation; the plain graph is still correct
        logger.warning("onnxruntime fusion failed (%s); using the unfused graph", err)
        return False


def quantize_onnx(onnx_model: bytes) -> bytes:
    """Dynamic int8 quantisation of a float32 graph: int8 weights with per-output-channel scales."""
    require_onnxruntime()
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    with tempfile.TemporaryDirectory(prefix="textsiam-onnx-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(onnx_model)
        with _quiet_third_party_logs():
            quantize_dynamic(
                str(src),
                str(dst),
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # types of fused-op outputs
            )
        return dst.read_bytes()


def export_transformer(
    encoder: Any, *, quantize: str | None = None, optimize: bool = True, opset: int = 17
) -> OnnxEncoder:
    """Export a :class:`~textsiam.encoders.TransformerEncoder` to an :class:`OnnxEncoder`.

    Args:
        encoder: the torch tower (its tokenizer, pooling and ``max_seq_length`` are kept).
        quantize: ``None`` for a float32 graph, ``"int8"`` for dynamic int8 quantisation.
        optimize: apply onnxruntime's transformer fusions (BERT-like models).
        opset: ONNX opset version.
    """
    from textsiam.encoders.transformer import TransformerEncoder

    require_onnxruntime()
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    if not isinstance(encoder, TransformerEncoder):
        raise TypeError(f"only transformer towers can be exported to ONNX, got {type(encoder).__name__}")
    if getattr(encoder, "quantize", None):
        raise ValueError("export the float32 torch model; quantisation is applied to the ONNX graph")
    check_quantize(quantize)
    hf_config = json.loads(encoder.model.config.to_json_string(use_diff=False))
    with tempfile.TemporaryDirectory(prefix="textsiam-onnx-") as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx"
        _export_graph(encoder.model, "token_type_ids" in encoder._model_inputs, raw, opset)
        data = (fused if optimize and _fuse(raw, fused, hf_config) else raw).read_bytes()
    if quantize == "int8":
        data = quantize_onnx(data)
    return OnnxEncoder(
        data,
        encoder.tokenizer,
        pooling=encoder.pooling_mode,
        max_seq_length=encoder.max_seq_length,
        hidden_size=encoder.get_embedding_dimension(),
        hf_config=hf_config,
        quantize=quantize,
    )
