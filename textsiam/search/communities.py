"""``community_detection``: groups of embeddings all close to a central one, as sentence-transformers finds them."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from textsiam.search.inputs import as_embeddings, check_cosine_threshold, check_int

logger = logging.getLogger(__name__)


@torch.no_grad()
def community_detection(
    embeddings: Any,
    threshold: float = 0.75,
    min_community_size: int = 10,
    batch_size: int = 1024,
    show_progress_bar: bool = False,
) -> list[list[int]]:
    """Groups of rows close to a centre, like sentence-transformers' ``util.community_detection``.

    Rows are L2-normalised; a row whose cosine similarity is at least ``threshold`` with at least
    ``min_community_size`` rows (itself included) is a candidate centre, its community those rows in descending
    similarity (``torch.topk`` order over the batch's candidate rows, with one width per batch, as in
    sentence-transformers' CPU path). Candidates are taken largest first
    (equal sizes: the lower centre first); a candidate whose centre is already taken is dropped, otherwise it loses
    the rows already taken and is kept, centre first, if it still has ``min_community_size`` rows. The result is
    sorted by size (stable). Scores come from ``batch_size`` rows at a time, as in sentence-transformers, so the
    results are the same to the bit on the same float32 embeddings (computed in float32 for float16 input, where
    sentence-transformers uses float16; on GPUs it takes another path whose order of exact ties can differ).

    Args:
        embeddings: ``(N, D)`` embeddings (tensor, numpy or list), or one ``(D,)`` vector.
        threshold: the cosine similarity to the centre a member needs, in [-1, 1] (outside it is refused with a
            ``ValueError``, as by ``mine_duplicates``; sentence-transformers returns ``[]`` above 1).
        min_community_size: the fewest rows of a community (a positive int).
        batch_size: rows scored against all rows at a time.
        show_progress_bar: show a tqdm bar over the batches.

    Returns:
        The communities, lists of row indices (centre first), largest first, no row in two of them.

    Example:
        >>> import numpy as np
        >>> emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.95, 0.05], [0.1, 0.9]], dtype=np.float32)
        >>> community_detection(emb, threshold=0.9, min_community_size=2)
        [[0, 3, 1], [2, 4]]
    """
    threshold = check_cosine_threshold(threshold)
    min_size = check_int(min_community_size, "min_community_size")
    batch_size = check_int(batch_size, "batch_size")
    emb = as_embeddings(embeddings, "embeddings", allow_1d=True)
    n = len(emb)
    if n < min_size:
        return []
    emb = F.normalize(emb, p=2, dim=-1)
    thr = torch.tensor(float(threshold), device=emb.device)  # float32, as sentence-transformers compares
    width = min(max(2 * min_size, 50), n)  # topk width; only grows, as in sentence-transformers
    candidates: list[tuple[int, np.ndarray]] = []
    for b0 in tqdm(range(0, n, batch_size), desc="Finding clusters", disable=not show_progress_bar):
        scores = emb[b0 : b0 + batch_size] @ emb.T
        counts = (scores >= thr).sum(1)
        rows = (counts >= min_size).nonzero().squeeze(1)
        if not len(rows):
            continue
        scores, counts = scores[rows], counts[rows]
        # one topk width for the whole batch, widened while any row's width-th best still reaches the threshold
        # (as sentence-transformers does: the order of exact ties depends on the width)
        while width < n and int(counts.max()) >= width:
            width = min(2 * width, n)
        values, cols = scores.topk(k=width)
        for r, row_cols, count in zip(rows.tolist(), cols, (values >= thr).sum(1).tolist(), strict=True):
            candidates.append((b0 + r, row_cols[:count].cpu().numpy()))
    candidates.sort(key=lambda c: len(c[1]), reverse=True)
    taken = np.zeros(n, dtype=bool)
    communities: list[list[int]] = []
    for centre, members in candidates:
        if taken[centre]:
            continue
        free = members[~taken[members]]
        if len(free) >= min_size:
            community = [centre, *free[free != centre].tolist()]
            taken[community] = True
            communities.append(community)
    logger.debug("community_detection: %d candidates, %d communities", len(candidates), len(communities))
    return sorted(communities, key=len, reverse=True)
