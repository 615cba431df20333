"""sentence-transformers' ``SentenceTransformer`` vocabulary, where it means the same thing in textsiam.

:class:`SentenceTransformersAPI` is a mixin of :class:`~textsiam.SiameseModel`: ``get_embedding_dimension`` (and its
older name ``get_sentence_embedding_dimension``), ``truncate_embeddings``, ``similarity_fn_name`` (checked when set),
``encode_query`` / ``encode_document`` (prompts), ``similarity_pairwise`` on embeddings, the embedding branch of
``similarity`` (a ``(N, M)`` tensor, as in sentence-transformers) and the multi-process pool. The helpers below
serve ``encode``'s keywords ``normalize_embeddings``, ``convert_to_numpy``, ``prompt`` / ``prompt_name`` (and the
model's ``default_prompt_name``) and ``truncate_dim``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.model.scoring import check_similarity_name, pairwise_similarity, similarity_matrix


def is_embeddings(x: Any) -> bool:
    """``True`` for a numeric ``(D,)`` or ``(N, D)`` numpy array or tensor, or a non-empty list of such vectors
    (embeddings, not texts)."""
    if isinstance(x, torch.Tensor):
        return x.ndim in (1, 2) and (x.is_floating_point() or x.dtype in (torch.int8, torch.uint8))
    if isinstance(x, np.ndarray):
        return x.ndim in (1, 2) and x.dtype.kind in "fiu"
    if isinstance(x, list) and x:
        return all(isinstance(v, (torch.Tensor, np.ndarray)) and v.ndim == 1 and is_embeddings(v) for v in x)
    return False


def as_embedding_matrix(x: Any, name: str) -> torch.Tensor:
    """Embeddings as a floating ``(N, D)`` tensor (a ``(D,)`` vector becomes one row; a list of vectors is stacked;
    integer and half-precision values become float32, float64 stays float64 as in sentence-transformers)."""
    if not is_embeddings(x):
        raise TypeError(f"{name} must be embeddings (a numeric numpy array or tensor), got {type(x).__name__}")
    if isinstance(x, list):
        x = torch.stack([torch.as_tensor(v) for v in x])
    t = torch.as_tensor(x)
    if not t.is_floating_point() or torch.finfo(t.dtype).bits < 32:
        t = t.float()
    return t.unsqueeze(0) if t.ndim == 1 else t


def check_truncate_dim(value: Any, dim: int) -> int | None:
    """``truncate_dim`` checked against the model's embedding size ``dim`` (``None``: no truncation)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= dim:
        raise ValueError(f"truncate_dim must be an int in [1, {dim}] (the embedding size) or None, got {value!r}")
    return value


def resolve_normalize(normalize: Any, normalize_embeddings: Any) -> bool | None:
    """One answer from textsiam's ``normalize`` and sentence-transformers' ``normalize_embeddings`` (aliases)."""
    for name, value in (("normalize", normalize), ("normalize_embeddings", normalize_embeddings)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True, False or None, got {value!r}")
    if normalize is not None and normalize_embeddings is not None and bool(normalize) != bool(normalize_embeddings):
        raise ValueError("normalize and normalize_embeddings disagree; give one of them")
    chosen = normalize if normalize is not None else normalize_embeddings
    return None if chosen is None else bool(chosen)


#: sentence-transformers' constructor keywords -> those of ``SiameseModel.from_pretrained``.
ST_CONSTRUCTOR_KEYWORDS = {
    "device": "device",
    "prompts": "prompts",
    "default_prompt_name": "default_prompt_name",
    "similarity_fn_name": "similarity",
    "truncate_dim": "truncate_dim",
    "backend": "backend",
    "trust_remote_code": "trust_remote_code",
    "revision": "revision",
    "local_files_only": "local_files_only",
    "token": "token",
    "cache_folder": "cache_dir",
}


def st_constructor_options(options: dict[str, Any]) -> dict[str, Any]:
    """``SentenceTransformer(name, **options)``'s keywords as ``SiameseModel.from_pretrained``'s (``model_kwargs``
    such as ``dtype`` are passed on to transformers); ``TypeError`` naming any other."""
    unknown = sorted(set(options) - set(ST_CONSTRUCTOR_KEYWORDS) - {"model_kwargs"})
    if unknown:
        raise TypeError(
            f"SiameseModel(name_or_path, ...) got unexpected keyword argument(s) {unknown}; it takes "
            f"sentence-transformers' {sorted(ST_CONSTRUCTOR_KEYWORDS)} and model_kwargs"
        )
    out = {ST_CONSTRUCTOR_KEYWORDS[k]: v for k, v in options.items() if k != "model_kwargs" and v is not None}
    out.update(options.get("model_kwargs") or {})
    if isinstance(out.get("similarity"), enum.Enum):
        out["similarity"] = out["similarity"].value
    return out


def check_prompts(prompts: Any, default_prompt_name: Any) -> tuple[dict[str, str], str | None]:
    """``(prompts, default_prompt_name)`` checked: a dict of strings, and ``None`` or one of its keys."""
    if not isinstance(prompts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()):
        raise TypeError(f"prompts must be a dict of strings (name -> prefix), got {prompts!r}")
    if default_prompt_name is not None and default_prompt_name not in prompts:
        raise ValueError(
            f"default_prompt_name {default_prompt_name!r} is not one of this model's prompts: {sorted(prompts)}"
        )
    return dict(prompts), default_prompt_name


def resolve_prompt(prompts: dict[str, str], default_prompt_name: str | None, prompt: Any, prompt_name: Any) -> str:
    """The prefix ``encode`` puts before every text, chosen as sentence-transformers chooses it: ``prompt`` if given
    (even ``""``), else the prompt called ``prompt_name``, else the model's default prompt, else none."""
    if prompt is None:
        if prompt_name is not None:
            if prompt_name not in prompts:
                raise ValueError(f"unknown prompt_name {prompt_name!r}; this model's prompts: {sorted(prompts)}")
            prompt = prompts[prompt_name]
        elif default_prompt_name is not None:
            prompt = prompts.get(default_prompt_name, "")
    if prompt is None:
        return ""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    return prompt


def apply_prompt(items: list[str], prompt: str) -> list[str]:
    """Every text with ``prompt`` in front."""
    return [prompt + t for t in items] if prompt else items


def truncate_embeddings(embeddings: Any, truncate_dim: int | None) -> Any:
    """The first ``truncate_dim`` dimensions of every embedding (``None``: all), in the input's type: numpy or
    tensor, ``(D,)`` or ``(N, D)``; sentence-transformers' ``util.truncate_embeddings``."""
    if truncate_dim is not None and (isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int)):
        raise TypeError(f"truncate_dim must be an int or None, got {truncate_dim!r}")
    if not isinstance(embeddings, (np.ndarray, torch.Tensor)):
        raise TypeError(f"embeddings must be a numpy array or a torch.Tensor, got {type(embeddings).__name__}")
    return embeddings[..., :truncate_dim]


def truncate_and_normalize(emb: torch.Tensor, truncate_dim: int | None, normalize: bool) -> torch.Tensor:
    """Matryoshka-style: keep the first ``truncate_dim`` dimensions, then L2-normalise if asked. ``(N, D')``."""
    if truncate_dim is not None:
        emb = emb[:, :truncate_dim]
    return nn.functional.normalize(emb, p=2, dim=-1) if normalize else emb


class SentenceTransformersAPI:
    """The ``SentenceTransformer`` methods that :class:`~textsiam.SiameseModel` offers with the same meaning."""

    embedding_dim: int
    max_seq_length: int
    truncate_dim: int | None
    prompts: dict[str, str]
    default_prompt_name: str | None
    encode: Any

    @property
    def similarity_fn_name(self) -> str:
        """The similarity function of :meth:`similarity` and of the pairs: one of
        :data:`~textsiam.model.scoring.SIMILARITY_FUNCTIONS`; anything else is refused when it is set."""
        return self.__dict__["_similarity_fn_name"]

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: Any) -> None:
        if isinstance(value, enum.Enum) and isinstance(value.value, str):  # sentence-transformers' SimilarityFunction
            value = value.value
        self.__dict__["_similarity_fn_name"] = check_similarity_name(value)

    def get_embedding_dimension(self) -> int:
        """Size of the embeddings :meth:`encode` returns (``truncate_dim`` when set): sentence-transformers 6's name."""
        return min(self.truncate_dim or self.embedding_dim, self.embedding_dim)

    def get_sentence_embedding_dimension(self) -> int:
        """The older name of :meth:`get_embedding_dimension`."""
        return self.get_embedding_dimension()

    def get_max_seq_length(self) -> int:
        """Texts longer than this many tokens are truncated."""
        return self.max_seq_length

    @contextlib.contextmanager
    def truncate_embeddings(self, truncate_dim: int | None) -> Iterator[None]:
        """Inside the block :meth:`encode` keeps the first ``truncate_dim`` dimensions (``None``: all), as
        sentence-transformers' context manager of the same name. It sets the model's ``truncate_dim``, which other
        threads share: for one call, pass ``encode(..., truncate_dim=...)`` instead."""
        before = self.truncate_dim
        self.truncate_dim = check_truncate_dim(truncate_dim, self.embedding_dim)
        try:
            yield
        finally:
            self.truncate_dim = before

    def encode_query(self, texts: Any, **kwargs: Any) -> Any:
        """:meth:`encode` with the model's ``"query"`` prompt (none if it has none; never the default prompt), as
        in sentence-transformers (whose models always have a ``"query"`` prompt, ``""`` unless set)."""
        if kwargs.get("prompt") is None and kwargs.get("prompt_name") is None:
            if "query" in self.prompts:
                kwargs["prompt_name"] = "query"
            else:
                kwargs["prompt"] = ""  # sentence-transformers' implicit "query" prompt is "": no default prompt
        return self.encode(texts, **kwargs)

    def encode_document(self, texts: Any, **kwargs: Any) -> Any:
        """:meth:`encode` with the model's ``"document"`` prompt (none if it has none; never the default prompt),
        as in sentence-transformers (whose models always have a ``"document"`` prompt, ``""`` unless set)."""
        if kwargs.get("prompt") is None and kwargs.get("prompt_name") is None:
            if "document" in self.prompts:
                kwargs["prompt_name"] = "document"
            else:
                kwargs["prompt"] = ""
        return self.encode(texts, **kwargs)

    def embedding_similarity(self, a: Any, b: Any) -> torch.Tensor:
        """sentence-transformers' ``similarity``: every row of ``a`` ``(N, D)`` against every row of ``b`` ``(M, D)``
        with the model's similarity function, as a ``(N, M)`` tensor."""
        return similarity_matrix(as_embedding_matrix(a, "a"), as_embedding_matrix(b, "b"), self.similarity_fn_name)

    def similarity_pairwise(self, a: Any, b: Any) -> torch.Tensor:
        """sentence-transformers' ``similarity_pairwise``: row ``i`` of ``a`` against row ``i`` of ``b``: ``(N,)``.

        Takes embeddings; to score texts pair by pair use :meth:`similarity` with two lists of texts.
        """
        ea, eb = as_embedding_matrix(a, "a"), as_embedding_matrix(b, "b")
        if ea.shape != eb.shape:
            raise ValueError(f"a and b must have the same shape, got {tuple(ea.shape)} and {tuple(eb.shape)}")
        return pairwise_similarity(ea, eb, self.similarity_fn_name)

    def start_multi_process_pool(self, target_devices: list[str] | None = None) -> dict[str, Any]:
        """Start worker processes that :meth:`encode` (``pool=``) spreads its texts over, as sentence-transformers'
        method of the same name: one per device of ``target_devices`` (e.g. ``["cuda:0", "cuda:1"]`` or
        ``["cpu", "cpu"]``; default every GPU, else 4 CPU workers). Stop it with :meth:`stop_multi_process_pool`.
        """
        from textsiam.model.multiprocess import start_pool

        return start_pool(self, target_devices)

    @staticmethod
    def stop_multi_process_pool(pool: dict[str, Any]) -> None:
        """Stop the worker processes of a pool from :meth:`start_multi_process_pool`."""
        from textsiam.model.multiprocess import stop_pool

        stop_pool(pool)
