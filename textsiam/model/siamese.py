"""The twin tower: one encoder, applied to both texts of a pair, with shared weights by construction."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders import Encoder
from textsiam.encoders.modes import MODE_LOCK
from textsiam.io_utils import atomic_dir
from textsiam.model.calibrated import CalibrationAPI, check_calibrator
from textsiam.model.calibrator import Calibrator
from textsiam.model.config import CONFIG_NAME, PROJECTION_NAME, SiameseConfig
from textsiam.model.inference import run_encode
from textsiam.model.loading import default_model_path, load_model
from textsiam.model.projection import Projection, activation_name
from textsiam.model.saving import write_model
from textsiam.model.scoring import check_similarity_name, pairwise_similarity, similarity_matrix
from textsiam.model.st_api import SentenceTransformersAPI, check_prompts, is_embeddings, st_constructor_options
from textsiam.model.towers import LightTowers
from textsiam.texts import Texts, as_text_list

__all__ = [
    "CONFIG_NAME",
    "PROJECTION_NAME",
    "Projection",
    "SiameseConfig",
    "SiameseModel",
    "Texts",
    "default_model_path",
]

logger = logging.getLogger(__name__)


class SiameseModel(LightTowers, CalibrationAPI, SentenceTransformersAPI, nn.Module):
    """A Siamese (twin-tower) sentence encoder.

    There is exactly one encoder module, applied to both texts of a pair, so both towers share one
    parameter set by construction. The model embeds texts, scores pairs with its similarity function,
    and saves to a directory that Hugging Face tools read.

    Args:
        encoder: the tower (e.g. :class:`~textsiam.encoders.TransformerEncoder`); or, as sentence-transformers'
            ``SentenceTransformer(name, device=..., prompts=..., truncate_dim=..., similarity_fn_name=...)``, a model
            name or folder (``None``: the embedded default model) to load with :meth:`from_pretrained`.
        similarity: ``"cosine"``, ``"dot"``, ``"euclidean"``, ``"manhattan"`` or ``"malstm"`` (default: cosine for
            an encoder, what the folder says when loading one).
        normalize: L2-normalise embeddings (default: off for an encoder, what the folder says when loading one).
        projection: optional dense layer applied after pooling.
        device: where to run; default CUDA when available, else CPU.

    Example:
        >>> model = SiameseModel.from_pretrained()  # the embedded all-MiniLM-L6-v2
        >>> model.similarity("A man is eating.", "Someone eats food.")  # doctest: +SKIP
        0.67...
    """

    def __init__(
        self,
        encoder: Encoder | str | os.PathLike | None = None,
        similarity: str | None = None,
        normalize: bool | None = None,
        projection: Projection | None = None,
        device: str | torch.device | None = None,
        **st_options: Any,
    ) -> None:
        super().__init__()
        if encoder is None or isinstance(encoder, (str, os.PathLike)):  # SentenceTransformer(name, device=..., ...)
            options = {"similarity": similarity, "normalize": normalize}  # None: what the folder says
            if projection is not None:
                raise TypeError("SiameseModel(name_or_path) loads a model: projection= needs an encoder")
            options.update(st_constructor_options({"device": device, **st_options}))
            loaded = type(self).from_pretrained(encoder, **{k: v for k, v in options.items() if v is not None})
            self.__dict__.update(loaded.__dict__)  # become the loaded model
            return
        if st_options:
            raise TypeError(f"SiameseModel() got unexpected keyword argument(s) {sorted(st_options)}")
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder must be a textsiam Encoder, got {type(encoder).__name__}")
        self.encoder = encoder
        self.projection = projection
        self.similarity_fn_name = check_similarity_name(similarity or "cosine")
        self.normalize = bool(normalize)
        self.name_or_path: str = ""
        self.num_threads: int | None = None  # default CPU threads of encode() (from_pretrained(num_threads=...))
        self._warned_truncation = False
        self.calibrator: Calibrator | None = None  # set by calibrate(); saved as calibration.json
        self.fuse_sides = True  # embed_many: run the sides of a pair as one forward pass when the encoder allows
        self.truncate_dim: int | None = None  # encode(): keep the first truncate_dim dimensions (Matryoshka)
        self.prompts: dict[str, str] = {}  # encode(prompt_name=...): named prefixes, e.g. {"query": "query: "}
        self.default_prompt_name: str | None = None  # the prompt encode() uses when given no prompt (a key of prompts)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(device)
        self.eval()  # inference by default; training switches to train mode itself

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
        self.encoder.max_seq_length = value  # checked, and capped at the tower's position limit with one warning

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
            projection_activation="tanh" if proj is None else activation_name(proj.activation),
            projection_bias=True if proj is None else proj.linear.bias is not None,
            encoder=self.encoder.encoder_config(),
            prompts=dict(self.prompts),
            default_prompt_name=self.default_prompt_name,
        )

    def train(self, mode: bool = True) -> SiameseModel:
        """Switch training mode (``eval()`` calls this too). It waits for inference running in other threads to
        finish, and inference always runs in eval mode, so a switch never changes what ``encode`` returns."""
        with MODE_LOCK:
            return super().train(mode)

    # ------------------------------------------------------------------------------------------ forward
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenise texts into one padded batch on the model's device; warns once if any text is truncated."""
        features, n_truncated = self.encoder.tokenize(texts)
        self.warn_truncation(n_truncated)
        return {k: v.to(self.device) for k, v in features.items()}

    def warn_truncation(self, n_truncated: int, stacklevel: int = 5) -> None:
        """Warn (once per model) that ``n_truncated`` inputs were cut at ``max_seq_length``."""
        if n_truncated and not self._warned_truncation:
            self._warned_truncation = True
            msg = (
                f"{n_truncated} input(s) longer than max_seq_length={self.max_seq_length} tokens were truncated; "
                "this warning is shown once per model"
            )
            warnings.warn(msg, UserWarning, stacklevel=stacklevel)

    def embed(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """One tower: tokenised batch -> embeddings ``(B, D)``, with autograd (used in training)."""
        return self.head(self.encoder(features))  # (B, H) -> (B, D)

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        """What follows the tower's pooling: the projection, then L2 normalisation if the model normalises."""
        emb = pooled if self.projection is None else self.projection(pooled)  # (B, D)
        return nn.functional.normalize(emb, p=2, dim=-1) if self.normalize else emb

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
        *,
        normalize_embeddings: bool | None = None,
        convert_to_numpy: bool = True,
        device: str | torch.device | list[str | torch.device] | None = None,
        prompt: str | None = None,
        prompt_name: str | None = None,
        truncate_dim: int | None = None,
        output_value: str | None = "sentence_embedding",
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
    ) -> np.ndarray | torch.Tensor | list[Any] | dict[str, torch.Tensor]:
        """Embed texts.

        All texts are tokenised once (one call of the fast tokenizer), sorted by token count (longest
        first), padded per batch to the longest text of the batch, and returned in input order. Tokenizers
        that cannot do this fall back to sorting by characters and tokenising each batch.

        Args:
            texts: a string, or a list of strings (an empty string is valid).
            batch_size: texts per forward pass.
            show_progress_bar: show a tqdm bar.
            convert_to_tensor: return a ``torch.Tensor`` instead of numpy.
            normalize: L2-normalise the output (default: the model's setting); ``normalize_embeddings`` is
                sentence-transformers' name for the same thing.
            num_threads: CPU threads for this call (default: the model's ``num_threads`` if set at load time,
                else torch's current setting, i.e. ``torch.set_num_threads`` / ``OMP_NUM_THREADS``).
            precision: sentence-transformers' ``"float32"``, ``"int8"``, ``"uint8"``, ``"binary"``, ``"ubinary"``
                (its codes: int8 / uint8 ranges from this call's embeddings, see :func:`textsiam.quantize_embeddings`),
                or textsiam's ``"float16"`` and ``"int8_per_vector"`` (per-vector scaled codes, no calibration).
                See :mod:`textsiam.model.precision` for the formats and their similarity functions.
            convert_to_numpy: with ``convert_to_tensor=False``, ``False`` returns a list of 1-D tensors (as in
                sentence-transformers).
            device: run on this device (the model moves there); a list such as ``["cpu", "cpu"]`` or
                ``["cuda:0", "cuda:1"]`` encodes in one worker process per entry, as in sentence-transformers.
            prompt: text prefixed to every input (``""``: none); ``prompt_name``: the model's prompt of that name
                (:attr:`prompts`, e.g. ``"query"``); neither: the model's :attr:`default_prompt_name` prompt, if set.
            truncate_dim: keep the first ``truncate_dim`` dimensions (Matryoshka-style; default the model's
                ``truncate_dim``), then L2-normalise if asked.
            output_value: ``"sentence_embedding"``; ``"token_embeddings"`` (a ``(T_i, H)`` tensor per text) or
                ``None`` (a dict of every output per text), see :mod:`textsiam.model.token_outputs`.
            pool: a pool from :meth:`start_multi_process_pool`: encode in its worker processes; ``chunk_size``:
                texts per chunk handed to a worker (default as sentence-transformers).

        Returns:
            ``(N, D)`` embeddings (``(N, D / 8)`` for binary), or one row for a single string.
        """
        return run_encode(
            self, texts, batch_size=batch_size, show_progress_bar=show_progress_bar,
            convert_to_tensor=convert_to_tensor, normalize=normalize, normalize_embeddings=normalize_embeddings,
            num_threads=num_threads, precision=precision, convert_to_numpy=convert_to_numpy, device=device,
            prompt=prompt, prompt_name=prompt_name, truncate_dim=truncate_dim, output_value=output_value, pool=pool,
            chunk_size=chunk_size,
        )  # fmt: skip

    def similarity(
        self,
        a: Texts,
        b: Texts,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        num_threads: int | None = None,
        calibrated: bool = False,
    ) -> float | np.ndarray | torch.Tensor:
        """Score texts pair by pair, or embeddings all against all (sentence-transformers' meaning).

        * Texts: two strings -> ``float``; two equal-length lists -> ``(N,)`` array, pair ``i = (a[i], b[i])``.
          Each distinct text is encoded once, however often it occurs.
        * Embeddings (numeric arrays or tensors, ``(N, D)`` and ``(M, D)``, e.g. from :meth:`encode`): the
          ``(N, M)`` tensor of every row of ``a`` against every row of ``b``, as ``SentenceTransformer.similarity``
          gives (:meth:`similarity_pairwise` pairs rows instead).

        With ``calibrated=True`` (texts only) the raw similarities go through the model's calibrator (see
        :meth:`calibrate`): a probability of duplicate, or a score on the gold STS scale;
        :class:`~textsiam.calibration.NotCalibratedError` if there is none.
        """
        if is_embeddings(a) or is_embeddings(b):
            if calibrated:
                raise ValueError("calibrated=True scores texts; for embeddings use model.calibrator.transform(scores)")
            return self.embedding_similarity(a, b)
        if calibrated:
            check_calibrator(self)
        list_a, single_a = as_text_list(a, "a")
        list_b, single_b = as_text_list(b, "b")
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
        scores = pairwise_similarity(emb[ia], emb[ib], self.similarity_fn_name).numpy().astype(np.float32)  # (N,)
        if calibrated:
            scores = self.calibrator.transform(scores).astype(np.float32)  # type: ignore[union-attr]
        return float(scores[0]) if single_a else scores

    def similarity_matrix(
        self,
        queries: Texts,
        corpus: Texts,
        batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """Score every query against every corpus text: ``(Q, C)``."""
        q, _ = as_text_list(queries, "queries")
        c, _ = as_text_list(corpus, "corpus")
        eq = self.encode(q, batch_size=batch_size, show_progress_bar=show_progress_bar)  # (Q, D)
        ec = self.encode(c, batch_size=batch_size, show_progress_bar=show_progress_bar)  # (C, D)
        if not len(q) or not len(c):
            return np.empty((len(q), len(c)), dtype=np.float32)
        return similarity_matrix(eq, ec, self.similarity_fn_name).numpy().astype(np.float32)

    # ------------------------------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike, overwrite: bool = False, st_layout: bool | None = None) -> Path:
        """Save atomically to directory ``path``, as a folder that textsiam, ``transformers`` and
        sentence-transformers all read.

        ``path`` may be new, an empty folder, or a model folder (a textsiam, sentence-transformers or Hugging
        Face save), which is replaced. Any other folder is refused unless ``overwrite=True``. Files in the
        folder that are not part of a model (your notes, results, sub-folders) are kept either way.

        The directory holds ``config.json``, ``model.safetensors`` and the tokenizer files (so
        ``transformers.AutoModel.from_pretrained(path)`` reads the transformer), ``textsiam.json``, and for a
        transformer tower sentence-transformers' ``modules.json`` with its Pooling / Dense / Normalize folders (so
        ``SentenceTransformer(path)`` gives the same embeddings). ``st_layout=True`` requires that layout (an
        error for LSTM / CNN / ONNX towers, which sentence-transformers cannot rebuild), ``False`` leaves it out.
        Everything is written to a temporary sibling directory first and renamed into place, so an interrupted
        save never leaves a half-written model where the old one was.

        Raises:
            FileExistsError: ``path`` is a non-empty folder that holds no model, and ``overwrite`` is not set.
            ValueError: ``path`` is a file, or the current working folder (or one that contains it).
        """
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        target = Path(path).expanduser().resolve()
        if target.exists() and not target.is_dir():
            raise ValueError(f"cannot save model: {target} exists and is not a directory")
        with atomic_dir(target, fsync=True, overwrite=overwrite) as tmp:
            write_model(self, tmp, st_layout=st_layout)
        logger.info("saved model to %s", target)
        return target

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
        strict: bool = True,
        truncate_dim: int | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        **hf_kwargs: Any,
    ) -> SiameseModel:
        """Load a model: a textsiam save, a sentence-transformers directory, any HF checkpoint, or a Hub name.

        Args:
            name_or_path: a local directory or a Hub name; ``None``, ``"all-MiniLM-L6-v2"`` and
                ``"sentence-transformers/all-MiniLM-L6-v2"`` load the embedded copy of that model (offline).
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
            strict: tensors missing from the checkpoint or unknown to the model are an error (default);
                ``strict=False`` loads anyway with a warning that names them (missing ones stay random).
            truncate_dim: :meth:`encode` keeps the first ``truncate_dim`` dimensions (Matryoshka models).
            prompts, default_prompt_name: as sentence-transformers' constructor: named prompts that take precedence
                over the saved ones (which fill the other names), and the prompt :meth:`encode` uses by default.
            **hf_kwargs: passed to ``transformers`` (``revision``, ``cache_dir``, ``local_files_only``, ``token``,
                ``dtype``, ...); any other keyword is a ``TypeError`` naming it.
        """
        model = load_model(
            cls, name_or_path, pooling=pooling, similarity=similarity, normalize=normalize,
            max_seq_length=max_seq_length, projection_dim=projection_dim, device=device,
            trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, backend=backend, quantize=quantize,
            num_threads=num_threads, strict=strict, truncate_dim=truncate_dim, **hf_kwargs,
        )  # fmt: skip
        merged = {**model.prompts, **check_prompts(prompts or {}, None)[0]}
        default = model.default_prompt_name if default_prompt_name is None else default_prompt_name
        model.prompts, model.default_prompt_name = check_prompts(merged, default)
        return model

    def __repr__(self) -> str:
        c = self.config
        return (
            f"SiameseModel(name_or_path={self.name_or_path!r}, encoder={c.encoder_type}, pooling={c.pooling}, "
            f"similarity={c.similarity}, dim={self.embedding_dim}, max_seq_length={c.max_seq_length}, "
            f"normalize={c.normalize})"
        )
