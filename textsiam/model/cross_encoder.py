"""The cross-encoder: one transformer reads both texts of a pair at once, ``[CLS] a [SEP] b [SEP]``, and a head
scores the pair (sentence-transformers' ``CrossEncoder``, its inference and its folders)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, MappingView, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from textsiam.encoders.base import PreTokenized
from textsiam.encoders.modes import MODE_LOCK
from textsiam.io_utils import atomic_dir
from textsiam.model.cross_encoder_layout import (
    CrossEncoderParts,
    activation_from_path,
    activation_path,
    check_max_length,
    load_cross_encoder_parts,
    resolve_max_length,
    write_cross_encoder,
)
from textsiam.model.scheduler import inference_context
from textsiam.texts import as_text_list, check_unicode
from textsiam.version import package_versions

logger = logging.getLogger(__name__)

#: ``show_progress_bar=None`` shows a bar from this many pairs on; shorter calls stay quiet.
PROGRESS_MIN_PAIRS = 1000


class CrossEncoder(nn.Module):
    """A cross-encoder: a transformer reads the two texts of a pair together and a head scores the pair.

    Unlike :class:`~textsiam.SiameseModel`, which embeds each text alone, the transformer attends across both texts,
    ``[CLS] a [SEP] b [SEP]``, and a sequence-classification head (``AutoModelForSequenceClassification``) turns the
    result into ``num_labels`` logits. :meth:`predict` applies the activation::

        score(a, b) = activation(W · h_CLS(a, b) + w0)        # (C,) logits -> scores; C = num_labels

    with sentence-transformers' default activation: ``Sigmoid`` for one label (a score in (0, 1)), ``Identity`` for
    several (the logits). Scores equal ``sentence_transformers.CrossEncoder(folder).predict(pairs)``.

    Args:
        model_name_or_path: a folder or a Hub name. A cross-encoder saved by textsiam or by sentence-transformers
            (any version) loads with its head, ``num_labels``, ``max_length`` and activation. Any other encoder (a
            plain Hugging Face checkpoint, an embedding model) gets a new, randomly initialised head. ``None``: the
            embedded all-MiniLM-L6-v2 with a new head.
        num_labels: outputs of a new head (default 1); for a folder with a head, its number of labels (or unset).
        max_length: most tokens of a pair (longer pairs are cut, the longer text first); default what the folder
            says, else the tokenizer's limit capped at the model's positions.
        activation_fn: a ``torch.nn`` module applied to the logits in :meth:`predict` (default: what the folder
            names, else ``Sigmoid`` for one label, ``Identity`` for several).
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
        trust_remote_code: allow custom modelling code and an activation from outside ``torch.nn`` named by the folder.
        allow_pickle: accept ``.bin`` (pickle) weights, loaded with ``weights_only=True``. Off by default.
        strict: tensors missing from the checkpoint or unknown to the model (other than a new head's) are an error;
            ``False`` warns and loads anyway.
        **hf_kwargs: ``revision``, ``cache_dir``, ``token``, ``local_files_only``, ``force_download``.

    Example:
        >>> model = CrossEncoder("my-cross-encoder")  # doctest: +SKIP
        >>> model.predict([("How old is Anna?", "Anna is 30."), ("How old is Anna?", "Paris is in France.")])
        array([0.97, 0.02], dtype=float32)  # doctest: +SKIP
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        num_labels: int | None = None,
        max_length: int | None = None,
        activation_fn: nn.Module | None = None,
        device: str | torch.device | None = None,
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
        strict: bool = True,
        **hf_kwargs: Any,
    ) -> None:
        super().__init__()
        for flag_name, flag in (("trust_remote_code", trust_remote_code), ("allow_pickle", allow_pickle)):
            if not isinstance(flag, bool):
                raise TypeError(f"{flag_name} must be True or False, got {flag!r}")
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        if num_labels is not None and (isinstance(num_labels, bool) or not isinstance(num_labels, int)):
            raise TypeError(f"num_labels must be a positive int or None, got {num_labels!r}")
        if num_labels is not None and num_labels < 1:
            raise ValueError(f"num_labels must be a positive int or None, got {num_labels!r}")
        if max_length is not None:
            check_max_length(max_length)
        if model_name_or_path is not None and not isinstance(model_name_or_path, (str, os.PathLike)):
            raise TypeError(
                f"model_name_or_path must be a path, a name or None, got {type(model_name_or_path).__name__}"
            )
        if activation_fn is not None:
            check_activation(activation_fn)
        parts = load_cross_encoder_parts(
            model_name_or_path, num_labels=num_labels, max_length=max_length, trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle, strict=strict, hf_kwargs=hf_kwargs,
        )  # fmt: skip
        if activation_fn is None and parts.activation_path is not None:
            activation_fn = activation_from_path(parts.activation_path, trust_remote_code, parts.activation_source)
        self.setup(parts, activation_fn, device)

    def setup(self, parts: CrossEncoderParts, activation_fn: nn.Module | None, device: Any) -> None:
        """Take the model, tokenizer and settings of ``parts`` (the constructors' shared last step)."""
        self.model = parts.model
        self.tokenizer = parts.tokenizer
        self.max_length = parts.max_length
        self.activation_fn = activation_fn if activation_fn is not None else self.default_activation()
        self.prompts = dict(parts.prompts)  # kept for the save (sentence-transformers' named prompts, unused here)
        self.name_or_path = parts.name
        self._warned_truncation = False
        self.to(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.eval()

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, **kwargs: Any) -> CrossEncoder:
        """``CrossEncoder(path, **kwargs)``: load a cross-encoder (see the class for the keywords)."""
        return cls(path, **kwargs)

    @classmethod
    def from_model(
        cls,
        model: nn.Module,
        tokenizer: Any,
        *,
        max_length: int | None = None,
        activation_fn: nn.Module | None = None,
        device: str | torch.device | None = None,
    ) -> CrossEncoder:
        """Wrap a ``transformers`` sequence-classification model and its tokenizer (e.g. one built from a config).

        ``max_length`` defaults to the tokenizer's limit capped at the model's positions.
        """
        if not isinstance(model, nn.Module) or not type(model).__name__.endswith("ForSequenceClassification"):
            raise TypeError(
                f"model must be a transformers *ForSequenceClassification model, got {type(model).__name__}"
            )
        if not callable(tokenizer):
            raise TypeError(f"tokenizer must be a transformers tokenizer, got {type(tokenizer).__name__}")
        if activation_fn is not None:
            check_activation(activation_fn)
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        parts = CrossEncoderParts(model, tokenizer, resolve_max_length(max_length, None, model.config, tokenizer))
        self.setup(parts, activation_fn, device)
        return self

    # ------------------------------------------------------------------------------------------ properties
    def __setattr__(self, name: str, value: Any) -> None:
        if name == "activation_fn":  # a plain attribute, not a sub-module: not in state_dict, not moved by to()
            object.__setattr__(self, name, check_activation(value))
            return
        if name == "max_length":  # passed to the tokenizer with every call; a save writes it as its model_max_length
            model = self._modules.get("model")
            value = check_max_length(value, None if model is None else model.config)
        super().__setattr__(name, value)

    @property
    def num_labels(self) -> int:
        """Outputs of the head: 1 for a score, ``C`` for ``C`` classes."""
        return int(self.model.config.num_labels)

    @property
    def max_seq_length(self) -> int:
        """sentence-transformers 6's name for :attr:`max_length`."""
        return self.max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.max_length = value

    @property
    def config(self) -> Any:
        """The ``transformers`` config of :attr:`model`."""
        return self.model.config

    @property
    def device(self) -> torch.device:
        param = next(self.model.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def default_activation(self) -> nn.Module:
        """sentence-transformers' default: ``Sigmoid`` for one label, ``Identity`` for several."""
        return nn.Sigmoid() if self.num_labels == 1 else nn.Identity()

    def train(self, mode: bool = True) -> CrossEncoder:
        """Switch training mode; waits for inference running in other threads (which always runs in eval mode)."""
        with MODE_LOCK:
            return super().train(mode)

    # ------------------------------------------------------------------------------------------ forward
    def tokenize(self, first: list[str], second: list[str]) -> dict[str, torch.Tensor]:
        """Tokenise pairs ``(first[i], second[i])`` into one padded batch on the model's device, cut at
        :attr:`max_length` (the longer text first, as sentence-transformers does)."""
        batch = self.tokenizer(
            first, second, padding=True, truncation="longest_first", max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in batch.items() if k in self.model_inputs()}

    def model_inputs(self) -> set[str]:
        """The tokenizer outputs the model's ``forward`` takes (DistilBERT-like models take no token types)."""
        import inspect

        accepted = inspect.signature(self.model.forward).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        return {name for name in ("input_ids", "attention_mask", "token_type_ids") if takes_any or name in accepted}

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """The logits ``(B, num_labels)`` of a tokenised batch (no activation), with autograd."""
        return self.model(**features, return_dict=True).logits

    # ------------------------------------------------------------------------------------------ inference
    def predict(
        self,
        pairs: Sequence[Sequence[str]] | Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
    ) -> np.ndarray | torch.Tensor:
        """Score pairs of texts.

        Pairs are tokenised once, sorted by token count (longest first) and run in batches in eval mode; the
        scores come back in input order. Calls from several threads are safe (one runs at a time).

        Args:
            pairs: a list of ``(a, b)`` pairs (tuples or lists of two strings), or one pair. An empty list gives an
                empty array.
            batch_size: pairs per forward pass.
            show_progress_bar: a tqdm bar; ``None``: only for :data:`PROGRESS_MIN_PAIRS` pairs or more.
            activation_fn: applied to the logits instead of :attr:`activation_fn` (e.g. ``nn.Identity()`` for raw
                logits).
            apply_softmax: with several labels, a softmax over them after the activation (rows sum to 1).
            convert_to_numpy: ``False`` returns a CPU ``torch.Tensor`` of the same shape.

        Returns:
            ``(N,)`` float32 scores for one label, ``(N, C)`` for ``C``; one pair gives a scalar, or ``(C,)``.

        Example:
            >>> model.predict(("A man eats.", "Someone is eating."))  # doctest: +SKIP
            0.93
        """
        first, second, single = as_pairs(pairs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        for flag_name, flag in (("apply_softmax", apply_softmax), ("convert_to_numpy", convert_to_numpy)):
            if not isinstance(flag, bool):
                raise TypeError(f"{flag_name} must be True or False, got {flag!r}")
        if show_progress_bar is not None and not isinstance(show_progress_bar, bool):
            raise TypeError(f"show_progress_bar must be True, False or None, got {show_progress_bar!r}")
        activation = self.activation_fn if activation_fn is None else activation_fn
        if not callable(activation):
            raise TypeError(f"activation_fn must be callable, got {type(activation).__name__}")
        show = len(first) >= PROGRESS_MIN_PAIRS if show_progress_bar is None else show_progress_bar
        with inference_context(self), torch.inference_mode():
            logits = self.score_sorted(first, second, batch_size, show)  # (N, C) float32, CPU
            scores = activation(logits)
            if self.num_labels == 1 and scores.ndim > 1:
                scores = scores.squeeze(-1)  # (N,)
            if apply_softmax and scores.ndim > 1:
                scores = torch.softmax(scores, dim=1)  # (N, C)
        scores = scores.float()
        if convert_to_numpy:
            array = scores.numpy()
            return array[0] if single else array  # one pair: a float32 scalar, or (C,)
        return scores[0] if single else scores

    def score_sorted(self, first: list[str], second: list[str], batch_size: int, show: bool) -> torch.Tensor:
        """The logits ``(N, num_labels)`` (float32, CPU, input order) of pairs run in length-sorted batches; the
        caller holds :func:`~textsiam.model.scheduler.inference_context` and ``torch.inference_mode``."""
        if not first:
            return torch.empty((0, self.num_labels), dtype=torch.float32)
        pre = self.pretokenize(first, second)
        if pre is not None:
            order = np.argsort(-pre.lengths, kind="stable").tolist()  # most tokens first
            self.warn_truncation(pre.n_truncated)
        else:
            order = sorted(range(len(first)), key=lambda i: -(len(first[i]) + len(second[i])))
        out = torch.empty((len(first), self.num_labels), dtype=torch.float32)
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        device, names = self.device, self.model_inputs()
        for idx in tqdm(batches, desc="Scoring pairs", disable=not show, unit="batch"):
            if pre is not None:
                features = {k: v.to(device) for k, v in pre.collate(idx).items() if k in names}
            else:
                features = self.tokenize([first[i] for i in idx], [second[i] for i in idx])
            out[idx] = self.forward(features).float().cpu()  # (b, C)
        return out

    def pretokenize(self, first: list[str], second: list[str]) -> PreTokenized | None:
        """Pairs tokenised once by a fast tokenizer, without padding (``None`` for a slow or left-padding one)."""
        tok = self.tokenizer
        pad_id = getattr(tok, "pad_token_id", None)
        if not getattr(tok, "is_fast", False) or getattr(tok, "padding_side", "right") != "right" or pad_id is None:
            return None
        batch = tok(
            first, second, padding=False, truncation="longest_first", max_length=self.max_length,
            return_attention_mask=False,
        )  # fmt: skip
        encodings = getattr(batch, "encodings", None)
        if encodings is None:
            return None
        columns = {k: v for k, v in batch.items() if k != "attention_mask"}
        lengths = np.fromiter((len(ids) for ids in columns["input_ids"]), dtype=np.int64, count=len(first))
        pad_type = int(getattr(tok, "pad_token_type_id", 0) or 0)
        n_truncated = sum(1 for e in encodings if e.overflowing)
        return PreTokenized(columns, lengths, n_truncated, {"input_ids": int(pad_id), "token_type_ids": pad_type})

    def warn_truncation(self, n_truncated: int) -> None:
        """Warn (once per model) that ``n_truncated`` pairs were cut at :attr:`max_length`."""
        if n_truncated and not self._warned_truncation:
            self._warned_truncation = True
            msg = (
                f"{n_truncated} pair(s) longer than max_length={self.max_length} tokens were truncated; "
                "this warning is shown once per model"
            )
            warnings.warn(msg, UserWarning, stacklevel=4)

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Score ``query`` against every document and sort, best first (as sentence-transformers' ``rank``).

        Args:
            query: one text; documents: a list of texts.
            top_k: keep the ``top_k`` best (default all).
            return_documents: add each document's ``"text"``.

        Returns:
            ``[{"corpus_id": i, "score": s, "text": documents[i]}, ...]`` by descending score (ties in input order).

        Example:
            >>> model.rank("How old is Anna?", ["Paris is in France.", "Anna is 30."], top_k=1)  # doctest: +SKIP
            [{'corpus_id': 1, 'score': 0.97}]
        """
        if self.num_labels != 1:
            raise ValueError(
                f"rank() needs a model with one label (a score), this one has {self.num_labels}; "
                "use predict() with the pairs instead"
            )
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        check_unicode([query], "query", single=True)
        docs, single = as_text_list(documents, "documents")
        if single:
            raise TypeError("documents must be a list of strings, not one string")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)):
            raise TypeError(f"top_k must be a positive int or None, got {top_k!r}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        if not isinstance(return_documents, bool):
            raise TypeError(f"return_documents must be True or False, got {return_documents!r}")
        scores = self.predict([(query, d) for d in docs], batch_size=batch_size, show_progress_bar=show_progress_bar)
        results: list[dict[str, Any]] = []
        for i, score in enumerate(np.atleast_1d(scores).tolist()):
            results.append({"corpus_id": i, "score": score, **({"text": docs[i]} if return_documents else {})})
        results.sort(key=lambda r: r["score"], reverse=True)  # stable: ties keep input order
        return results[:top_k]

    # ------------------------------------------------------------------------------------------ save
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save atomically to folder ``path`` in sentence-transformers' CrossEncoder layout (safetensors only), so
        that ``sentence_transformers.CrossEncoder(path)`` and :class:`CrossEncoder` give the same scores.

        ``path`` may be new, an empty folder, or a model folder, which is replaced; any other folder is refused
        unless ``overwrite=True``. Files that are not part of a model (notes, results) are kept either way.
        Everything is written to a temporary sibling folder first and renamed into place, so an interrupted save
        never leaves a half-written model where the old one was.

        Raises:
            FileExistsError: ``path`` is a non-empty folder that holds no model, and ``overwrite`` is not set.
            ValueError: ``path`` is a file; or the activation cannot be saved (a module with weights or settings
                its class name does not carry).
        """
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        target = Path(path).expanduser().resolve()
        if target.exists() and not target.is_dir():
            raise ValueError(f"cannot save model: {target} exists and is not a directory")
        settings = {
            "activation": activation_path(self.activation_fn),  # checked before anything is written
            "max_length": self.max_length,
            "prompts": self.prompts,
            "versions": package_versions(("torch", "transformers", "textsiam")),
        }
        with atomic_dir(target, fsync=True, overwrite=overwrite) as tmp:
            write_cross_encoder(self.model, self.tokenizer, tmp, settings)
        logger.info("saved cross-encoder to %s", target)
        return target

    def save_pretrained(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Alias of :meth:`save`."""
        return self.save(path, overwrite=overwrite)

    def __repr__(self) -> str:
        return (
            f"CrossEncoder(name_or_path={self.name_or_path!r}, model={type(self.model).__name__}, "
            f"num_labels={self.num_labels}, max_length={self.max_length}, activation_fn={self.activation_fn!r})"
        )


def check_activation(value: Any) -> nn.Module:
    """``value`` if it is a ``torch.nn.Module`` (what a save can name), else ``TypeError``."""
    if not isinstance(value, nn.Module):
        raise TypeError(
            f"activation_fn must be a torch.nn.Module such as nn.Sigmoid() or nn.Identity(), got {value!r}; "
            "predict(activation_fn=...) takes any callable for one call"
        )
    return value


def as_pairs(pairs: Any) -> tuple[list[str], list[str], bool]:
    """Validate pairs of texts: ``(first texts, second texts, was_one_pair)``.

    One pair is a tuple or list of two strings (or a 1-D array of two); a batch is an ordered sequence of pairs
    (or an ``(N, 2)`` array). ``TypeError`` / ``ValueError`` name the first pair that is not two strings.
    """
    if isinstance(pairs, np.ndarray):
        if pairs.ndim == 1 and pairs.size:
            pairs = tuple(pairs.tolist())
        elif pairs.ndim in (1, 2):
            pairs = pairs.tolist()
        else:
            raise ValueError(f"pairs must be an (N, 2) array of strings, got shape {pairs.shape}")
    if isinstance(pairs, (str, bytes, bytearray)):
        raise TypeError(
            f"pairs must be a (text_a, text_b) pair or a list of pairs, got one {type(pairs).__name__}; "
            "a cross-encoder scores two texts together"
        )
    if pairs is None or isinstance(pairs, (AbstractSet, Mapping, MappingView)) or not isinstance(pairs, Iterable):
        raise TypeError(f"pairs must be a (text_a, text_b) pair or a list of pairs, got {type(pairs).__name__}")
    single = isinstance(pairs, (tuple, list)) and len(pairs) > 0 and not isinstance(pairs[0], (tuple, list, np.ndarray))
    items = [pairs] if single else list(pairs)
    first: list[str] = []
    second: list[str] = []
    for i, pair in enumerate(items):
        where = "pairs" if single else f"pairs[{i}]"
        if isinstance(pair, np.ndarray):
            pair = pair.tolist()
        if not isinstance(pair, (tuple, list)):
            raise TypeError(f"{where} is {type(pair).__name__}; expected a (text_a, text_b) pair")
        if len(pair) != 2:
            raise ValueError(f"{where} has {len(pair)} item(s); a pair has exactly 2 texts")
        for j, text in enumerate(pair):
            if not isinstance(text, str):
                shown = "None" if text is None else type(text).__name__
                raise TypeError(f"{where}[{j}] is {shown}; expected a string (use '' for an empty text)")
        first.append(pair[0])
        second.append(pair[1])
    check_unicode(first, "pairs (first texts)", single=False)
    check_unicode(second, "pairs (second texts)", single=False)
    return first, second, single


__all__ = ["PROGRESS_MIN_PAIRS", "CrossEncoder", "as_pairs"]
