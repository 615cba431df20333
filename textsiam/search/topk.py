"""Running top-k of score chunks, with ties broken by the lower id whatever the chunking."""

from __future__ import annotations

import torch


def order_rows(values: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row sorted by descending value, equal values by ascending id."""
    by_id = torch.argsort(ids, dim=1, stable=True)
    values, ids = values.gather(1, by_id), ids.gather(1, by_id)
    by_value = torch.argsort(values, dim=1, descending=True, stable=True)
    return values.gather(1, by_value), ids.gather(1, by_value)


def chunk_topk(scores: torch.Tensor, k: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best columns of each row (ties at the cut: the lower columns), ordered; ids are ``offset + column``.

    ``torch.topk`` picks arbitrarily among values tied at the k-th place; the rows where that can happen (the
    ``k + 1``-th best value equals the k-th) are redone with a stable sort.
    """
    k = min(k, scores.shape[1])
    values, cols = torch.topk(scores, min(k + 1, scores.shape[1]), dim=1)
    if values.shape[1] > k:
        tied = (values[:, k] == values[:, k - 1]).nonzero().squeeze(1)  # the (k+1)-th best equals the k-th
        if len(tied):
            v, c = torch.sort(scores[tied], dim=1, descending=True, stable=True)
            values[tied], cols[tied] = v[:, : k + 1], c[:, : k + 1]
        values, cols = values[:, :k], cols[:, :k]
    return order_rows(values, cols + offset)


def merge_topk(
    best: tuple[torch.Tensor, torch.Tensor] | None, new: tuple[torch.Tensor, torch.Tensor], k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best of a running top-k and a new chunk's (``best`` ``None``: the chunk's), in :func:`order_rows`."""
    if best is None:
        return new
    values, ids = order_rows(torch.cat([best[0], new[0]], dim=1), torch.cat([best[1], new[1]], dim=1))
    return values[:, :k], ids[:, :k]
