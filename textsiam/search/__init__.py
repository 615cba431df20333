"""Search over embeddings: semantic search, paraphrase mining and community detection.

These mirror sentence-transformers' ``util`` functions of the same names and give the same results on the same
embeddings (same ids in the same order, scores equal to float rounding):

* :func:`semantic_search` (``util.semantic_search``): for each query embedding, the ``top_k`` most similar rows of a
  corpus, e.g. the stored Quora questions closest to a new question. Exact chunked matrix products by default;
  ``exact=False`` searches an exact faiss ``IndexFlatIP`` instead (cosine or dot). Measured on this project's
  2-core AVX2 machine, 150k x 384 corpus: exact 2.0 s / 11 s for 100 / 1,000 queries, faiss 8.2 s / 53 s, so
  the matrix products stay the default at every size. For millions of texts use :func:`textsiam.mine_duplicates`
  (approximate HNSW / IVF indexes, memory-mapped storage).
* :func:`paraphrase_mining` / :func:`paraphrase_mining_embeddings` (``util.paraphrase_mining`` /
  ``util.paraphrase_mining_embeddings``): the most similar pairs *within* one list of texts, e.g. candidate
  duplicate questions, as ``[score, i, j]`` with ``i < j``.
* :func:`community_detection` (``util.community_detection``): groups of embeddings all close to a central one,
  e.g. clusters of duplicate Quora questions, largest first, non-overlapping, the centre first in each group.

Where sentence-transformers leaves the order of exactly equal scores to ``torch.topk`` and a heap (arbitrary), the
search functions here break ties by the lower id (:func:`semantic_search`: lower ``corpus_id`` first; the pairs: by
``i``, then ``j``), whatever the chunk sizes or the path. :func:`community_detection` reproduces
sentence-transformers' CPU algorithm step by step, ties included. Inputs are ``torch.Tensor``, ``numpy.ndarray`` or
lists of vectors; integer and sub-float32 inputs are computed in float32, as sentence-transformers' scoring does.

For corpora too large to hold in memory, or thresholded duplicate mining with an approximate index, see
:func:`textsiam.mine_duplicates`.

Example:
    >>> import numpy as np
    >>> from textsiam.search import semantic_search
    >>> corpus = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    >>> hits = semantic_search(np.array([1.0, 0.1], dtype=np.float32), corpus, top_k=2)
    >>> [hit["corpus_id"] for hit in hits[0]]
    [0, 2]
"""

from __future__ import annotations

from textsiam.search.communities import community_detection
from textsiam.search.inputs import ScoreFunction
from textsiam.search.paraphrase import paraphrase_mining, paraphrase_mining_embeddings
from textsiam.search.semantic import FAISS_SCORES, MAX_EXACT_ROWS, semantic_search

__all__ = [
    "FAISS_SCORES",
    "MAX_EXACT_ROWS",
    "ScoreFunction",
    "community_detection",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "semantic_search",
]
