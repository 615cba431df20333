"""Duplicate mining in large corpora: stream-encode to a memory-mapped file, search it with a faiss index.

:func:`mine_duplicates` finds, for every text of a corpus, its ``top_k`` most similar other texts, and the
pairs whose similarity reaches a threshold:

1. **Encode.** Texts are read lazily from any iterable (a list, a generator, the lines of a file), ``chunk_size``
   at a time, embedded, L2-normalised and appended to a file in the storage precision (``float32``,
   ``float16`` or per-vector ``int8`` codes: ``int8_per_vector`` of :mod:`textsiam.model.precision`). Memory does
   not grow with the corpus: only one chunk of texts is held at a time.
2. **Index.** The file is memory-mapped (opened for each chunk read, so its pages are not held by the process)
   and added, chunk by chunk, to a `faiss <https://github.com/facebookresearch/faiss>`_ inner-product index:
   exact search (``IndexFlatIP``, or an exhaustive scalar-quantizer index) below ``max_exact`` texts (100k by
   default), a graph index above (``HNSW``, ``hnsw_m`` links per node, ``ef_search`` candidates per query), or
   on request an inverted-file index (``IVF``, ``nlist = 4 * sqrt(N)`` lists, ``nprobe`` of them searched).
   The index stores vectors in the storage precision (``Flat`` / ``SQfp16`` / ``SQ8``: ``4 D``, ``2 D`` or
   ``D`` bytes per text, plus about ``8 * hnsw_m`` bytes of graph links for HNSW). With the returned
   neighbour arrays (``12 * top_k`` bytes per text) it is the only memory that grows with the corpus.
3. **Search.** Every stored embedding queries the index for its ``top_k + 1`` nearest vectors; the text
   itself is dropped. For ``float16`` and ``int8`` storage the neighbours' scores are recomputed exactly from
   the stored embeddings, so every score is the **cosine similarity of the stored embeddings** (the same
   value :func:`textsiam.model.precision.similarity_matrix` gives), whatever the index approximates.

Pairs are the unordered pairs ``(i, j)``, ``i < j``, with ``j`` among the top-k neighbours of ``i`` or ``i``
among those of ``j``, and a score of at least ``threshold``; each pair is reported once. With
``calibrated=True`` scores go through the model's calibrator (see :meth:`textsiam.SiameseModel.calibrate`)
and the threshold is on the calibrated scale (e.g. a probability of duplicate).

:func:`rerank_pairs` re-scores the pairs of a run with a cross-encoder and orders them by its score (see
:mod:`textsiam.mining.rerank`).

Example:
    >>> from textsiam import mine_duplicates
    >>> result = mine_duplicates(["How do I learn Python?", "How can I learn Python?", "Nice weather."],
    ...                          threshold=0.8, top_k=2)  # doctest: +SKIP
    >>> result.pairs, result.scores  # doctest: +SKIP
    (array([[0, 1]]), array([0.93], dtype=float32))
"""

from __future__ import annotations

from textsiam.mining.api import mine_duplicates, mine_embeddings, mining_calibrator
from textsiam.mining.args import COSINE_RANGE, INDEX_KINDS, MAX_EXACT, MINING_PRECISIONS, check_mining_args
from textsiam.mining.pipeline import MiningResult
from textsiam.mining.rerank import rerank_pairs
from textsiam.mining.store import remove_stale_work_dirs

__all__ = [
    "COSINE_RANGE",
    "INDEX_KINDS",
    "MAX_EXACT",
    "MINING_PRECISIONS",
    "MiningResult",
    "check_mining_args",
    "mine_duplicates",
    "mine_embeddings",
    "mining_calibrator",
    "remove_stale_work_dirs",
    "rerank_pairs",
]
