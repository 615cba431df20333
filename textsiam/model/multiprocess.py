"""Multi-process encoding, as sentence-transformers does it: a pool of worker processes, one per device.

``model.start_multi_process_pool(["cuda:0", "cuda:1"])`` (or ``["cpu", "cpu"]``) starts one worker process per
device with a copy of the model; ``model.encode(texts, pool=pool)`` splits the texts into chunks, the workers
encode them, and the results come back in input order; ``model.stop_multi_process_pool(pool)`` ends the workers.
``model.encode(texts, device=["cpu", "cpu"])`` does all three for one call. The pool is the same dictionary
sentence-transformers uses (``input`` and ``output`` queues, ``processes``).

Workers are started with ``spawn`` (a fresh interpreter: safe with CUDA and with torch's thread pools) and compute
float32 embeddings; the caller's process applies the prompt before and the precision after, so the numbers equal
those of a single-process ``encode`` (to float rounding: the batches differ).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
from collections.abc import Sequence
from typing import Any

import torch
import torch.multiprocessing as mp

logger = logging.getLogger(__name__)

#: CPU workers of a pool started without target devices where there is no GPU (sentence-transformers' default).
DEFAULT_CPU_WORKERS = 4
#: Seconds between checks for dead workers while waiting for results.
POLL_S = 1.0
#: Seconds a stopped worker gets to finish its chunk before it is terminated.
STOP_TIMEOUT_S = 10.0
#: One pooled ``encode`` at a time: the results of a pool come back on one queue, so calls from several threads
#: would otherwise take each other's chunks.
_POOL_CALLS = threading.Lock()


def check_devices(devices: Any) -> list[str]:
    """A non-empty list of device names (``"cpu"``, ``"cuda:0"``, ...), each one torch understands."""
    if isinstance(devices, (str, torch.device)) or not isinstance(devices, Sequence) or not devices:
        raise ValueError(f"devices must be a non-empty list such as ['cpu', 'cpu'] or ['cuda:0'], got {devices!r}")
    names = []
    for d in devices:
        try:
            names.append(str(torch.device(d)))
        except (RuntimeError, TypeError):
            raise ValueError(f"not a torch device: {d!r} (in {devices!r})") from None
    return names


def start_pool(model: Any, target_devices: Sequence[str] | None = None) -> dict[str, Any]:
    """Start one worker process per device, each holding a copy of ``model``; see the module docstring.

    The model is moved to the CPU (and its tensors to shared memory) to be handed to the workers, as
    sentence-transformers does.
    """
    if target_devices is None:
        if torch.cuda.is_available():
            target_devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        else:
            logger.info("no GPU: starting %d CPU workers", DEFAULT_CPU_WORKERS)
            target_devices = ["cpu"] * DEFAULT_CPU_WORKERS
    devices = check_devices(target_devices)
    n_cpu = sum(1 for d in devices if d.startswith("cpu"))
    threads = max(1, (os.cpu_count() or 1) // max(n_cpu, 1))  # CPU workers share the cores instead of oversubscribing
    logger.info("starting a multi-process pool on %s", ", ".join(devices))
    model.to("cpu")
    model.share_memory()
    ctx = mp.get_context("spawn")
    pool: dict[str, Any] = {"input": ctx.Queue(), "output": ctx.Queue(), "processes": []}
    try:
        for device in devices:
            process = ctx.Process(
                target=pool_worker,
                args=(device, threads if device.startswith("cpu") else None, model, pool["input"], pool["output"]),
                daemon=True,
            )
            process.start()
            pool["processes"].append(process)
    except BaseException:
        stop_pool(pool)
        raise
    return pool


def stop_pool(pool: dict[str, Any]) -> None:
    """End the workers of ``pool`` (each finishes its chunk and exits; one still busy after
    :data:`STOP_TIMEOUT_S` is terminated) and close its queues."""
    if not isinstance(pool, dict) or not {"input", "output", "processes"} <= set(pool):
        raise TypeError("pool must be the dictionary start_multi_process_pool() returned")
    if not pool["processes"]:  # stopped already
        return
    for p in pool["processes"]:
        if p.is_alive():
            pool["input"].put(None)  # one stop sign per worker
    for p in pool["processes"]:
        p.join(STOP_TIMEOUT_S)
        if p.is_alive():
            p.terminate()
            p.join()
        p.close()
    pool["processes"].clear()  # a stopped pool says so (encode refuses it; stopping it again does nothing)
    pool["input"].cancel_join_thread()
    pool["input"].close()
    pool["output"].close()


def pool_worker(device: str, num_threads: int | None, model: Any, inputs: Any, outputs: Any) -> None:
    """A worker's loop: encode each chunk it receives on ``device`` and send the result (or the error) back."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    while True:
        task = inputs.get()
        if task is None:  # stop_pool()
            return
        chunk_id, texts, options = task
        try:
            result = model.encode(texts, device=device, **options)
            if isinstance(result, torch.Tensor):
                result = result.cpu()
            elif isinstance(result, list):
                result = [_to_cpu(r) for r in result]
        except Exception as exc:  # reported to the caller, who raises it
            outputs.put((chunk_id, _picklable(exc, device)))
        else:
            outputs.put((chunk_id, result))


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    return value


def _picklable(exc: Exception, device: str) -> Exception:
    if isinstance(exc, (TypeError, ValueError)):
        return type(exc)(str(exc))
    return RuntimeError(f"encoding failed in the worker on {device}: {type(exc).__name__}: {exc}")


def encode_in_pool(
    texts: list[str],
    pool: dict[str, Any] | None,
    devices: Any,
    chunk_size: int | None,
    options: dict[str, Any],
    model: Any,
) -> Any:
    """Encode ``texts`` in ``pool`` (or in a pool started on ``devices`` for this call) with the ``encode`` keywords
    ``options``: an ``(N, D)`` tensor for sentence embeddings, else a list with one entry per text."""
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    own = pool is None
    if own:
        pool = start_pool(model, check_devices(devices))
    elif not isinstance(pool, dict) or not {"input", "output", "processes"} <= set(pool):
        raise TypeError("pool must be the dictionary start_multi_process_pool() returned")
    elif not pool["processes"]:
        raise ValueError("the pool has no worker processes (was it stopped?)")
    try:
        if chunk_size is None:
            chunk_size = max(1, min(math.ceil(len(texts) / len(pool["processes"]) / 10), 5000))
        starts = range(0, len(texts), chunk_size)
        results: list[Any] = [None] * len(starts)
        with _POOL_CALLS:
            for chunk_id, start in enumerate(starts):
                pool["input"].put((chunk_id, texts[start : start + chunk_size], options))
            try:
                for _ in starts:
                    chunk_id, result = _next_result(pool)
                    results[chunk_id] = result
            except BaseException:
                # an interrupted call leaves results in the queue that the next call would take for its own
                if not own:
                    logger.warning("stopping the multi-process pool: a call on it was interrupted")
                    stop_pool(pool)
                raise
        for result in results:
            if isinstance(result, Exception):
                raise result
    finally:
        if own:
            stop_pool(pool)
    if results and isinstance(results[0], torch.Tensor):
        return torch.cat(results)
    return [item for chunk in results for item in chunk]


def _next_result(pool: dict[str, Any]) -> tuple[int, Any]:
    """The next ``(chunk_id, result)``; ``RuntimeError`` if a worker died instead."""
    while True:
        try:
            return pool["output"].get(timeout=POLL_S)
        except queue.Empty:
            pass
        dead = [p for p in pool["processes"] if not p.is_alive()]
        if dead:
            details = ", ".join(f"pid {p.pid} (exit code {p.exitcode})" for p in dead)
            raise RuntimeError(f"{len(dead)} worker(s) of the multi-process pool died: {details}; start a new pool")


__all__ = ["DEFAULT_CPU_WORKERS", "check_devices", "encode_in_pool", "pool_worker", "start_pool", "stop_pool"]
