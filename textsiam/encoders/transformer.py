"""A Hugging Face transformer (BERT, MiniLM, RoBERTa, ALBERT, XLM-R, T5 encoder, ...) as a tower."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoModelForTextEncoding, PreTrainedModel

from textsiam.encoders.base import Encoder
from textsiam.encoders.loading import (
    check_finite,
    check_loaded_keys,
    check_vocabulary,
    load_config,
    load_pretrained,
    load_tokenizer,
    position_limit,
    quiet_transformers,
    weights_file,
)
from textsiam.encoders.pooling import Pooling
from textsiam.encoders.weight_dtypes import check_checkpoint_dtypes

logger = logging.getLogger(__name__)

DEFAULT_MAX_SEQ_LENGTH = 512
#: Options that say where files come from (passed to the config and tokenizer loaders as well as the model's).
HUB_OPTIONS = frozenset(
    {"revision", "cache_dir", "token", "local_files_only", "force_download", "proxies", "subfolder"}
)


class TransformerEncoder(Encoder):
    """Token embeddings from a transformer, pooled into one vector per text.

    Args:
        model: any ``transformers`` encoder (``AutoModel``; for encoder-decoder checkpoints such as T5,
            the encoder stack only).
        tokenizer: its tokenizer (WordPiece, BPE or sentencepiece).
        pooling: ``"mean"``, ``"cls"``, ``"max"`` or ``"weighted_mean"`` (see :class:`Pooling`).
        max_seq_length: inputs longer than this many tokens are truncated.
        quantize: ``None``, or ``"int8"`` for torch dynamic quantisation of every ``nn.Linear`` (int8 weights,
            activations quantised per batch; CPU only, inference only, cannot be saved; the ONNX backend,
            ``SiameseModel.from_pretrained(..., backend="onnx", quantize="int8")``, is faster and more accurate).
    """

    encoder_type = "transformer"
    padding_invariant = True  # attention masks padding out; pooling is mask-aware
    accepts_inputs_embeds = True  # forward() takes inputs_embeds in place of input_ids

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        pooling: str = "mean",
        max_seq_length: int | None = None,
        quantize: str | None = None,
    ) -> None:
        super().__init__()
        if quantize not in (None, "int8"):
            raise ValueError(f"unknown quantize mode {quantize!r}; choose None or 'int8'")
        self.quantize = quantize
        if quantize == "int8":
            model = quantize_linear_int8(model)
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = Pooling(pooling)
        if max_seq_length is None:
            max_seq_length = min(self.max_positions() or DEFAULT_MAX_SEQ_LENGTH, DEFAULT_MAX_SEQ_LENGTH)
        self.max_seq_length = max_seq_length  # checked, and capped at max_positions() with one warning
        accepted = inspect.signature(model.forward).parameters
        self._model_inputs = {"input_ids", "attention_mask"}
        if "token_type_ids" in accepted:  # T5 and DistilBERT have none
            self._model_inputs.add("token_type_ids")

    def input_embeddings(self) -> torch.nn.Embedding | None:
        layer = self.model.get_input_embeddings()
        return layer if isinstance(layer, torch.nn.Embedding) else None

    def max_positions(self) -> int | None:
        cfg = self.model.config
        return position_limit(
            getattr(cfg, "max_position_embeddings", None), getattr(cfg, "model_type", None), self.tokenizer
        )

    @property
    def pooling_mode(self) -> str:
        return self.pooling.mode

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        pooling: str = "mean",
        max_seq_length: int | None = None,
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
        quantize: str | None = None,
        strict: bool = True,
        **hf_kwargs: Any,
    ) -> TransformerEncoder:
        """Load model and tokenizer with ``transformers`` from a directory or a Hub name.

        Weights are read from safetensors only, unless ``allow_pickle=True`` (then ``transformers`` still
        loads ``.bin`` files with ``torch.load(weights_only=True)``). What is loaded is checked: damaged files,
        tensors missing from the checkpoint or unknown to the model (``strict=False``: a warning that names
        them), a tokenizer that does not fit the embedding matrix, and NaN or infinite weights are each a
        ``ValueError`` naming the file.
        """
        name = str(name_or_path)
        local = Path(name).is_dir()
        hub_kwargs = {k: v for k, v in hf_kwargs.items() if k in HUB_OPTIONS}  # for the config and the tokenizer
        config = load_config(name, trust_remote_code=trust_remote_code, **hub_kwargs)  # a broken config: ValueError
        encoder_only_of_seq2seq = getattr(config, "is_encoder_decoder", False) or any(
            a.endswith("EncoderModel") for a in (getattr(config, "architectures", None) or [])
        )  # T5 and friends: keep the encoder stack only (also when reloading a saved T5EncoderModel)
        model_cls = AutoModelForTextEncoding if encoder_only_of_seq2seq else AutoModel
        weights = weights_file(Path(name)) if local else name
        model, info = load_pretrained(
            model_cls,
            name,
            config=config,
            weights=weights,
            trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            **hf_kwargs,
        )
        own = {n for n, _ in model.named_children()}
        check_loaded_keys(
            list(info.get("missing_keys", [])), list(info.get("unexpected_keys", [])), own, weights, strict
        )
        check_checkpoint_dtypes(model, name, hub_kwargs)  # an int64 weight would load as rounded values
        tokenizer = load_tokenizer(name, trust_remote_code=trust_remote_code, **hub_kwargs)
        check_vocabulary(tokenizer, model.get_input_embeddings().num_embeddings, name)
        check_finite(model, weights)
        return cls(model, tokenizer, pooling=pooling, max_seq_length=max_seq_length, quantize=quantize)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pool the model's last hidden states: ``features`` -> ``(B, H)``.

        ``features`` holds ``input_ids`` and ``attention_mask`` (and ``token_type_ids`` where the model takes
        them). It may hold ``inputs_embeds`` ``(B, T, H)`` instead of ``input_ids``: word embeddings that replace
        the embedding lookup (position and token-type embeddings are still added by the model); this is how
        gradient attributions such as :func:`textsiam.explain` differentiate with respect to the input.
        """
        return self.forward_features(features)["sentence_embedding"]  # (B, H)

    def forward_features(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{"token_embeddings": (B, T, H) last hidden states, "sentence_embedding": (B, H) pooled}``."""
        inputs = {k: v for k, v in features.items() if k in self._model_inputs}
        if features.get("inputs_embeds") is not None:
            inputs.pop("input_ids", None)
            inputs["inputs_embeds"] = features["inputs_embeds"]
        token_embeddings = self.model(**inputs, return_dict=True).last_hidden_state  # (B, T, H)
        pooled = self.pooling(token_embeddings, features["attention_mask"])  # (B, H)
        return {"token_embeddings": token_embeddings, "sentence_embedding": pooled}

    def get_embedding_dimension(self) -> int:
        cfg = self.model.config
        return int(cfg.hidden_size if hasattr(cfg, "hidden_size") else cfg.d_model)

    def encoder_config(self) -> dict[str, Any]:
        return {"model_type": self.model.config.model_type}

    def save(self, directory: Path) -> None:
        if self.quantize:
            raise ValueError(
                "a torch model quantised in memory cannot be saved; save the float32 model, "
                "or export an int8 ONNX model (textsiam export --format onnx --quantize int8)"
            )
        with quiet_transformers():
            self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any], **kwargs: Any) -> TransformerEncoder:
        return cls.from_pretrained(
            directory,
            pooling=config.get("pooling", "mean"),
            max_seq_length=config.get("max_seq_length"),
            **kwargs,
        )


def quantize_linear_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Torch dynamic quantisation: every ``nn.Linear`` gets int8 weights (fbgemm/x86 kernels, CPU only)."""
    import warnings

    model = model.to("cpu").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
