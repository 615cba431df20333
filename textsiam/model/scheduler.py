"""The inference scheduler: length-sorted batches spread over the cores, safe to call from several threads
(one process-wide lock, eval mode, and torch's thread count restored)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from textsiam.encoders.modes import MODE_LOCK


def check_num_threads(n: Any) -> int | None:
    """``n`` if it is ``None`` or a positive int (``True`` is not a thread count), else ``ValueError``."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"num_threads must be a positive int or None, got {n!r}")
    return n


#: One inference at a time per process. torch's thread count is process-wide, and a model in training mode
#: must be switched to eval for inference; both are only safe when calls do not interleave. On a CPU one call
#: already uses every core, so this costs no throughput; calls from several threads give exactly the
#: results of the same calls made one after the other. ``train()`` / ``eval()`` of a model or an encoder take
#: the same lock (:mod:`textsiam.encoders.modes`), so no thread can flip a mode while inference runs.
_INFERENCE_LOCK = MODE_LOCK


@contextlib.contextmanager
def thread_count_context(get: Callable[[], int], set_: Callable[[int], Any], n: int | None) -> Iterator[None]:
    """Run the block with a library's thread count set to ``n`` by ``set_`` (``None``: leave it alone), restored
    afterwards to what ``get`` read before (torch here, faiss's OpenMP threads in :mod:`textsiam.mining`)."""
    if n is None:
        yield
        return
    before = get()
    set_(n)
    try:
        yield
    finally:
        set_(before)


@contextlib.contextmanager
def num_threads_context(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (``None``: leave the setting alone), restored afterwards."""
    check_num_threads(n)
    with thread_count_context(torch.get_num_threads, torch.set_num_threads, n):
        yield


@contextlib.contextmanager
def inference_context(model: nn.Module) -> Iterator[None]:
    """Hold the process-wide inference lock, with ``model`` in eval mode (dropout off) inside the block.

    Models are loaded and built in eval mode, so normally nothing is switched. A model any of whose modules is
    in training mode (``model.train()``, between training steps, or one dropout layer switched on) is put in
    eval mode for the block, and every module's own mode is restored after; the lock keeps concurrent
    inference calls from seeing the switch.
    """
    with _INFERENCE_LOCK:
        modes = {module: module.training for module in model.modules()}
        switched = any(modes.values())
        if switched:
            model.eval()
        try:
            yield
        finally:
            if switched:
                for module, training in modes.items():
                    module.training = training


def encode_sorted(
    model: Any, items: list[str], batch_size: int, show_progress_bar: bool, normalize: bool
) -> torch.Tensor:
    """``model``'s embeddings of ``items``, ``(N, D)`` float32 on the CPU, in input order.

    Texts are sorted by token count (longest first) and padded per batch; the caller holds
    :func:`inference_context` and ``torch.inference_mode``.

    On the CPU with ``n > 1`` threads and several batches, ``n`` batches run at once, one per core, each
    with one intra-op thread: small transformer GEMMs scale poorly across cores inside one op, so this
    uses the cores better than one batch at a time with ``n`` threads. Results are identical.
    """
    pre = model.encoder.pretokenize(items)
    if pre is not None:
        order = np.argsort(-pre.lengths, kind="stable").tolist()  # most tokens first
        model.warn_truncation(pre.n_truncated, stacklevel=5)  # the caller of SiameseModel.encode
    else:
        order = sorted(range(len(items)), key=lambda i: -len(items[i]))  # most characters first
    batches = [order[start : start + batch_size] for start in range(0, len(items), batch_size)]
    out = torch.empty((len(items), model.embedding_dim), dtype=torch.float32)
    device = model.device

    def run(idx: list[int]) -> None:
        with torch.inference_mode():  # thread-local: worker threads need it too
            if pre is not None:
                features = {k: v.to(device) for k, v in pre.collate(idx).items()}
            else:
                features = model.tokenize([items[i] for i in idx])
            emb = model.embed(features).float()  # (b, D)
            if normalize and not model.normalize:
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
