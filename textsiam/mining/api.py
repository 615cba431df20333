"""``mine_duplicates`` (texts and a model) and ``mine_embeddings`` (precomputed embeddings)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from textsiam.mining.args import (
    MAX_EXACT,
    check_calibrated_threshold,
    check_int,
    check_iterable,
    check_mining_args,
    check_neighbour_memory,
    iter_texts,
)
from textsiam.mining.pipeline import MiningResult, run_mining
from textsiam.model.calibrated import check_calibrator
from textsiam.texts import batched

if TYPE_CHECKING:
    from textsiam.model.calibrator import Calibrator
    from textsiam.model.siamese import SiameseModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Search:
    """The arguments :func:`mine_duplicates` and :func:`mine_embeddings` share: checked, then handed to a run."""

    threshold: Any
    top_k: int
    index: str
    precision: str
    chunk_size: int
    work_dir: str | os.PathLike | None
    max_exact: int
    nlist: int | None
    nprobe: int | None
    hnsw_m: int
    ef_search: int
    num_threads: int | None
    show_progress_bar: bool
    seed: int

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> _Search:
        """The shared arguments among a public function's ``locals()`` (taken before it binds any other name)."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls)})

    def check(self, *, calibrated: bool | None) -> float:
        """:func:`check_mining_args` of these arguments: the threshold as a float."""
        return check_mining_args(
            self.threshold,
            self.top_k,
            self.index,
            self.precision,
            self.chunk_size,
            self.max_exact,
            self.nlist,
            self.nprobe,
            self.hnsw_m,
            self.ef_search,
            self.num_threads,
            calibrated=calibrated,
            work_dir=self.work_dir,
        )

    def run(
        self,
        chunks: Iterator[np.ndarray],
        *,
        total: int | None,
        threshold: float,
        calibrator: Calibrator | None,
        encode_unit: str,
    ) -> MiningResult:
        """:func:`run_mining` over ``chunks`` of embeddings with these arguments (``threshold`` as checked)."""
        return run_mining(
            chunks,
            total=total,
            threshold=threshold,
            top_k=self.top_k,
            index=self.index,
            precision=self.precision,
            chunk_size=self.chunk_size,
            calibrator=calibrator,
            work_dir=self.work_dir,
            max_exact=self.max_exact,
            nlist=self.nlist,
            nprobe=self.nprobe,
            hnsw_m=self.hnsw_m,
            ef_search=self.ef_search,  # at least top_k + 1, at most the corpus (search_sizes)
            num_threads=self.num_threads,
            show_progress_bar=self.show_progress_bar,
            seed=self.seed,
            encode_unit=encode_unit,
        )


# ---------------------------------------------------------------------------------------------- public API
def mine_duplicates(
    texts: Iterable[str],
    model: SiameseModel | str | os.PathLike | None = None,
    *,
    threshold: float = 0.8,
    top_k: int = 10,
    index: str = "auto",
    precision: str = "float16",
    batch_size: int = 32,
    chunk_size: int = 10_000,
    calibrated: bool = False,
    work_dir: str | os.PathLike | None = None,
    max_exact: int = MAX_EXACT,
    nlist: int | None = None,
    nprobe: int | None = None,
    hnsw_m: int = 16,
    ef_search: int = 128,
    num_threads: int | None = None,
    show_progress_bar: bool = False,
    seed: int = 0,
) -> MiningResult:
    """Find near-duplicate texts in a corpus: every text's top-k neighbours and the pairs above a threshold.

    See the module docstring (:mod:`textsiam.mining`) for how it works and what memory it needs.

    Args:
        texts: any iterable of strings (a list, a generator, a file's lines), read once, lazily, in chunks.
        model: a :class:`~textsiam.SiameseModel`, a directory or Hub name, or ``None`` for the embedded
            default model. For speed, pass ``SiameseModel.from_pretrained(..., backend="onnx", quantize="int8")``.
        threshold: report pairs whose score is at least this (cosine; calibrated scale with ``calibrated``).
        top_k: neighbours kept per text; pairs are only looked for among them. A text has ``N - 1`` others, so
            at most ``N - 1`` are kept (a larger ``top_k`` keeps all).
        index: ``"flat"`` (exact), ``"hnsw"`` or ``"ivf"`` (approximate), ``"auto"``: flat below
            ``max_exact`` texts, else HNSW.
        precision: storage of the memory-mapped embeddings and of the index vectors: ``"float16"``
            (default), ``"int8"`` (per-vector codes; index ``SQ8``) or ``"float32"``.
        batch_size: texts per forward pass.
        chunk_size: texts read, encoded, added and searched at a time (bounds the working memory).
        calibrated: score with the model's calibrator (:class:`~textsiam.calibration.NotCalibratedError` if it
            has none; it must have been fitted on cosine scores).
        work_dir: folder for the memory-mapped embeddings; kept afterwards (``stats["embeddings_file"]``:
            ``(N, D)`` C-order rows of unit vectors in ``precision``). Default: a temporary folder, removed.
        max_exact: ``index="auto"`` switches from exact search to HNSW at this many texts.
        nlist: IVF lists (default ``4 * sqrt(N)``, at most ``N / 39``).
        nprobe: IVF lists searched per query (default ``max(32, nlist / 16)``); more is slower and more exact.
        hnsw_m: HNSW links per node (more: slower to build, more exact).
        ef_search: HNSW candidates kept per query (at least ``top_k + 1``, at most ``N``); more is slower and
            more exact.
        num_threads: CPU threads for encoding and faiss (default: the current settings).
        show_progress_bar: tqdm bars for encoding, indexing and searching.
        seed: seed of the training sample of an IVF / SQ8 index.

    Returns:
        A :class:`MiningResult`: ``pairs`` and ``scores``, ``neighbours`` and ``neighbour_scores``, ``stats``.

    Raises:
        TypeError: ``texts`` is not an iterable of strings (a non-string item is reported with its index).
        ValueError: a bad argument (named in the message).
    """
    search = _Search.of(locals())  # first: locals() are the arguments only
    if not isinstance(calibrated, bool):
        raise TypeError(f"calibrated must be True or False, got {calibrated!r}")
    threshold = search.check(calibrated=calibrated)
    check_int(batch_size, "batch_size")
    check_iterable(texts)
    from textsiam.model.resolve import get_model

    model = get_model(model)
    calibrator = mining_calibrator(model) if calibrated else None
    if calibrator is not None:
        check_calibrated_threshold(threshold, calibrator)
    if model.similarity_fn_name != "cosine" and not calibrated:
        logger.warning(
            "mining ranks by cosine similarity of normalised embeddings; this model scores with %r",
            model.similarity_fn_name,
        )
    total = len(texts) if isinstance(texts, Sized) else None
    if total is not None:
        check_neighbour_memory(total, top_k)  # before the encoding (again once the texts are counted)

    def encoded() -> Iterator[np.ndarray]:
        for chunk in batched(iter_texts(texts), chunk_size):
            yield model.encode(chunk, batch_size=batch_size, normalize=True, num_threads=num_threads)

    result = search.run(encoded(), total=total, threshold=threshold, calibrator=calibrator, encode_unit="text")
    result.stats["model"] = getattr(model, "name_or_path", "") or type(model).__name__
    return result


def mine_embeddings(
    embeddings: Any,
    *,
    threshold: float = 0.8,
    top_k: int = 10,
    index: str = "auto",
    precision: str = "float16",
    chunk_size: int = 10_000,
    calibrator: Calibrator | None = None,
    work_dir: str | os.PathLike | None = None,
    max_exact: int = MAX_EXACT,
    nlist: int | None = None,
    nprobe: int | None = None,
    hnsw_m: int = 16,
    ef_search: int = 128,
    num_threads: int | None = None,
    show_progress_bar: bool = False,
    seed: int = 0,
) -> MiningResult:
    """:func:`mine_duplicates` for embeddings you already have.

    Args:
        embeddings: an ``(N, D)`` array (e.g. ``np.load("emb.npy", mmap_mode="r")`` of ``textsiam encode``'s
            output; read ``chunk_size`` rows at a time) or an iterable of ``(n, D)`` chunks. They are
            L2-normalised, so scores are cosine similarities.
        calibrator: a fitted :class:`~textsiam.calibration.Calibrator` (fitted on cosine scores) to score with.
        Other arguments: as for :func:`mine_duplicates`.
    """
    search = _Search.of(locals())  # first: locals() are the arguments only
    threshold = search.check(calibrated=calibrator is not None)
    if embeddings is None or isinstance(embeddings, (str, bytes)):
        raise TypeError(f"embeddings must be an (N, D) array or an iterable of (n, D) chunks, got {embeddings!r}")
    if calibrator is not None and not calibrator.is_fitted:
        from textsiam.calibration import NotCalibratedError

        raise NotCalibratedError("the calibrator is not fitted")
    if calibrator is not None:
        check_calibrated_threshold(threshold, calibrator)
    if isinstance(embeddings, (list, tuple)):
        try:
            as_array = np.asarray(embeddings, dtype=np.float32) if embeddings else np.empty((0, 0), np.float32)
        except (ValueError, TypeError):  # ragged: a list of chunks
            as_array = None
        if as_array is not None and as_array.ndim == 2:  # a nested list of rows, not a list of chunks
            embeddings = as_array
    if isinstance(embeddings, np.ndarray) or (hasattr(embeddings, "__array__") and hasattr(embeddings, "shape")):
        arr = embeddings
        if len(arr.shape) != 2:
            raise ValueError(f"embeddings must be 2-D (N, D), got shape {tuple(arr.shape)}")
        total: int | None = int(arr.shape[0])
        chunks: Iterable[Any] = (np.asarray(arr[s : s + chunk_size]) for s in range(0, total, chunk_size))
    else:
        check_iterable(embeddings, "embeddings")
        total, chunks = None, (np.asarray(c) for c in embeddings)
    return search.run(iter(chunks), total=total, threshold=threshold, calibrator=calibrator, encode_unit="vector")


def mining_calibrator(model: SiameseModel) -> Calibrator:
    """The model's calibrator for calibrated mining (fitted on cosine scores, as mining ranks by cosine).

    Raises:
        NotCalibratedError: the model has no calibrator (or one fitted on another similarity).
        ValueError: the model does not score with cosine similarity.
    """
    cal = check_calibrator(model)  # NotCalibratedError if missing or fitted on another similarity
    if model.similarity_fn_name != "cosine":
        raise ValueError(
            f"calibrated mining needs a calibrator fitted on cosine scores, but this model scores with "
            f"{model.similarity_fn_name!r}; mining ranks by cosine similarity"
        )
    return cal


#: The name the command line used before :func:`mining_calibrator` was public.
