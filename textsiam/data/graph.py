"""Connected components of texts linked by pairs (duplicate clusters, leak-free splits)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def text_components(
    text_a: Sequence[str], text_b: Sequence[str], linked: Sequence[bool] | None = None
) -> tuple[list[str], np.ndarray]:
    """Group texts joined by pairs, directly or through other texts.

    Args:
        text_a, text_b: the two sides of each pair.
        linked: which pairs join their texts (default: every pair). Texts of unlinked pairs still get a
            component, of their own unless another pair links them.

    Returns:
        ``(nodes, component)``: every distinct text in first-seen order (``text_a`` before ``text_b``, row by
        row) and its component id; ids are ``0, 1, ...`` in the order of a component's first text.
    """
    if len(text_a) != len(text_b) or (linked is not None and len(linked) != len(text_a)):
        raise ValueError("text_a, text_b (and linked) must have the same length")
    index: dict[str, int] = {}
    ia = np.empty(len(text_a), dtype=np.int64)
    ib = np.empty(len(text_b), dtype=np.int64)
    for i, (a, b) in enumerate(zip(text_a, text_b, strict=True)):
        ia[i] = index.setdefault(a, len(index))
        ib[i] = index.setdefault(b, len(index))
    keep = np.ones(len(ia), dtype=bool) if linked is None else np.asarray(linked, dtype=bool)
    n = len(index)
    graph = coo_matrix((np.ones(int(keep.sum())), (ia[keep], ib[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)  # (n,)
    _, first = np.unique(labels, return_index=True)  # first node of each scipy label
    relabel = np.empty(len(first), dtype=np.int64)
    relabel[labels[np.sort(first)]] = np.arange(len(first))  # number components by first appearance
    return list(index), relabel[labels]
