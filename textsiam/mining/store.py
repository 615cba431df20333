"""The embeddings of a mining run, on disk: appended chunk by chunk, read back by rows or ranges."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.io_utils import process_is_gone
from textsiam.mining.args import EPS, WORK_DIR_PREFIX
from textsiam.model.precision import quantize

logger = logging.getLogger(__name__)

#: :meth:`EmbeddingFile.read` reads rows at most this many bytes apart in one call: a call (and the Python around
#: it, ~15 us) costs about as much as copying this much from the page cache, so reading the gap never costs more
#: than about twice the calls it saves.
GAP_BYTES = 1 << 16
#: ... and at most this many bytes in one call (the size of its buffer).
WINDOW_BYTES = 1 << 22
#: Mining's storage precision -> the :mod:`textsiam.model.precision` codes it stores (``int8``: per-vector codes).
CODE_PRECISIONS = {"int8": "int8_per_vector"}


# ---------------------------------------------------------------------------------------------- storage
class EmbeddingFile:
    """Normalised embeddings of one corpus in a flat binary file, appended chunk by chunk.

    Contiguous rows (:meth:`rows`) are read through a memory map held for one chunk only; scattered rows
    (:meth:`take`) with positioned reads. Either way the file's pages count against the page cache, not against
    the resident memory of the process.
    """

    def __init__(self, path: Path, precision: str) -> None:
        self.path = path
        self.precision = precision
        self.dtype = np.dtype({"float32": np.float32, "float16": np.float16, "int8": np.int8}[precision])
        self.n = 0
        self.dim: int | None = None

    def append(self, fh: Any, emb: np.ndarray) -> None:
        emb = np.asarray(emb, dtype=np.float32)
        if emb.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (n, D), got shape {emb.shape}")
        if self.dim is None:
            self.dim = int(emb.shape[1])
        elif emb.shape[1] != self.dim:
            raise ValueError(f"embedding width changed from {self.dim} to {emb.shape[1]}")
        if not np.isfinite(emb).all():
            raise ValueError(f"embeddings {self.n}..{self.n + len(emb) - 1} contain NaN or infinity")
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        codes = quantize(emb / np.maximum(norms, EPS), CODE_PRECISIONS.get(self.precision, self.precision))
        fh.write(np.ascontiguousarray(codes, dtype=self.dtype).tobytes())
        self.n += len(emb)

    @property
    def nbytes(self) -> int:
        return self.n * (self.dim or 0) * self.dtype.itemsize

    def _map(self) -> np.memmap:
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.n, self.dim))

    @staticmethod
    def unit(raw: np.ndarray) -> np.ndarray:
        """Stored rows (any dtype) as unit-length float32: the stored vectors, renormalised after rounding."""
        x = raw.astype(np.float32)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), EPS)
        return x

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as unit-length float32 (the stored vectors, renormalised after rounding)."""
        mm = self._map()
        try:
            return self.unit(np.array(mm[start:stop]))
        finally:
            del mm

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` as unit-length float32 (see :meth:`read`)."""
        return self.unit(self.read(idx))

    def read(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` as stored (the file's dtype), in the order of ``idx``.

        Read with plain positioned reads, not through a memory map: for scattered rows the kernel maps the
        pages around every faulting row as well, so a few thousand random rows would put most of the file in
        the process's resident memory. Rows at most :data:`GAP_BYTES` apart are read in one call together with
        the rows between them, so many sorted ids (e.g. every neighbour of a search chunk) take a few large reads
        instead of one call each. Never more than ``GAP_BYTES`` of unwanted rows per wanted row are read.
        """
        idx = np.asarray(idx, dtype=np.int64)
        row = (self.dim or 0) * self.dtype.itemsize
        order = np.argsort(idx, kind="stable")
        wanted = idx[order]  # ascending
        raw = np.empty((len(idx), self.dim or 0), dtype=self.dtype)
        if not len(idx):
            return raw
        if wanted[0] < 0 or wanted[-1] >= self.n:
            raise IndexError(f"row ids must be in [0, {self.n}), got {wanted[0]}..{wanted[-1]}")
        # one call per span of nearby ids (gaps of at most max_gap rows), of at most WINDOW_BYTES
        max_gap = max(1, GAP_BYTES // max(row, 1))
        window = max(1, WINDOW_BYTES // max(row, 1))
        breaks = np.nonzero(np.diff(wanted) > max_gap)[0] + 1
        starts = np.concatenate(([0], breaks)).tolist()
        ends = np.concatenate((breaks, [len(wanted)])).tolist()
        span = np.empty((min(window, int(wanted[-1] - wanted[0]) + 1), self.dim or 0), dtype=self.dtype)
        buf = memoryview(span.reshape(-1).view(np.uint8))
        sorted_raw = np.empty_like(raw)
        with open(self.path, "rb", buffering=0) as fh:
            for a, b in zip(starts, ends, strict=True):
                while a < b:  # a span longer than the window: several calls
                    first = int(wanted[a])
                    end = b if wanted[b - 1] - first < window else a + int(np.searchsorted(wanted[a:b], first + window))
                    count = int(wanted[end - 1]) - first + 1
                    fh.seek(first * row)
                    if fh.readinto(buf[: count * row]) != count * row:
                        raise OSError(f"{self.path} is shorter than its {self.n} rows")
                    sorted_raw[a:end] = span[wanted[a:end] - first]
                    a = end
        raw[order] = sorted_raw
        return raw


def remove_stale_work_dirs(directory: str | os.PathLike | None = None) -> list[Path]:
    """Delete the ``textsiam-mine-PID-*`` work folders whose process is gone (e.g. a SIGKILLed ``mine``).

    ``directory``: where to look (default: the system temp folder, ``tempfile.gettempdir()``).
    """
    folder = Path(directory if directory is not None else tempfile.gettempdir())
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = re.match(rf"^{re.escape(WORK_DIR_PREFIX)}(\d+)-", path.name)
        if not match or not path.is_dir() or path.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or not process_is_gone(pid):
            continue
        logger.info("removing %s, left by an interrupted mining run (process %d is gone)", path, pid)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
