"""The teacher pipeline's files in the run folder, ``output_dir/silver/``, written atomically:

=============================  ===================================================================================
``silver.json``                the recipe (strategies, caps, seed, digests of the gold pairs and the start model),
                               the teachers (kind, name, fingerprint), the sizes (per strategy) and the mapping
``candidates.jsonl``           the sampled pairs (a header line with the recipe's digest, then one pair a line)
``scores/<key>/chunk-N.json``  one teacher's raw scores of pairs ``[start, stop)`` of the pairs it labels (the
                               gold pairs of the mapping, then the candidates); ``key`` hashes the teacher's
                               fingerprint and the pairs, and each file names both again
``pairs.jsonl``                the labelled silver pairs: ``text_a, text_b, label, score, strategy``
=============================  ===================================================================================

A run that finds these files with the same recipe and teacher reuses them: a resumed or repeated run relabels
nothing, and a run killed while labelling goes on from its last complete chunk. Score files of another teacher or
recipe are removed once the new labels are complete (only chunk files that textsiam wrote: each says so in its
``format`` field; anything else in the folder stays). Without a run folder (``folder=None``) nothing is read or
written; with ``write=False`` (a process other than the main one under ``torchrun``) files are read, not written.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.io_utils import atomic_open
from textsiam.training.silver_sampling import SilverCandidates

logger = logging.getLogger(__name__)

__all__ = ["SILVER_DIR", "SilverStore"]

SILVER_DIR = "silver"
RECORD_FILE = "silver.json"
CANDIDATES_FILE = "candidates.jsonl"
PAIRS_FILE = "pairs.jsonl"
SCORES_DIR = "scores"
CANDIDATES_FORMAT = "textsiam-silver-candidates"
CHUNK_FORMAT = "textsiam-silver-scores"
CHUNK_NAME = re.compile(r"^chunk-\d{6}\.json$")


class SilverStore:
    """Reads and writes ``output_dir/silver/`` (see the module docstring); a no-op without a folder."""

    def __init__(self, folder: Path | None, write: bool = True) -> None:
        self.folder = folder
        self.write = folder is not None and write

    # ------------------------------------------------------------------------------------------ record
    def read_record(self) -> dict[str, Any] | None:
        """The ``silver.json`` of an earlier run, or ``None`` (none, or unreadable)."""
        data = self._read_json(self.folder / RECORD_FILE) if self.folder is not None else None
        return data if isinstance(data, dict) else None

    def write_record(self, record: dict[str, Any]) -> None:
        if self.write:
            self._write_text(RECORD_FILE, json.dumps(record, indent=2, ensure_ascii=False) + "\n")

    # ------------------------------------------------------------------------------------------ candidates
    def read_candidates(self, recipe_digest: str) -> SilverCandidates | None:
        """The sampled pairs of the recipe with this digest, or ``None`` (none, another recipe, or damaged)."""
        if self.folder is None or not (self.folder / CANDIDATES_FILE).is_file():
            return None
        try:
            with open(self.folder / CANDIDATES_FILE, encoding="utf-8") as fh:
                header = json.loads(fh.readline())
                if header.get("format") != CANDIDATES_FORMAT or header.get("recipe") != recipe_digest:
                    return None
                rows = [json.loads(line) for line in fh if line.strip()]
            out = SilverCandidates(found=dict(header["found"]), kept=dict(header["kept"]), texts=int(header["texts"]))
            for row in rows:
                out.text_a.append(row["text_a"])
                out.text_b.append(row["text_b"])
                out.strategy.append(row["strategy"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            logger.warning("ignoring the damaged %s: %s", self.folder / CANDIDATES_FILE, err)
            return None
        if len(out) != sum(out.kept.values()):
            return None
        return out

    def write_candidates(self, recipe_digest: str, candidates: SilverCandidates) -> None:
        if not self.write:
            return
        header = {
            "format": CANDIDATES_FORMAT,
            "recipe": recipe_digest,
            "found": candidates.found,
            "kept": candidates.kept,
            "texts": candidates.texts,
        }
        lines = [json.dumps(header)] + [
            json.dumps({"text_a": a, "text_b": b, "strategy": s}, ensure_ascii=False)
            for a, b, s in zip(candidates.text_a, candidates.text_b, candidates.strategy, strict=True)
        ]
        self._write_text(CANDIDATES_FILE, "\n".join(lines) + "\n")

    # ------------------------------------------------------------------------------------------ scores
    def chunk_path(self, key: str, index: int) -> Path:
        assert self.folder is not None
        return self.folder / SCORES_DIR / key / f"chunk-{index:06d}.json"

    def read_chunk(self, key: str, index: int, header: dict[str, Any]) -> np.ndarray | None:
        """The scores of one chunk written with this ``header`` (teacher, pairs, start, stop), else ``None``."""
        if self.folder is None:
            return None
        data = self._read_json(self.chunk_path(key, index))
        if not isinstance(data, dict) or data.get("format") != CHUNK_FORMAT:
            return None
        if any(data.get(k) != v for k, v in header.items()):
            return None
        scores = np.asarray(data.get("scores", []), dtype=np.float64)
        if scores.shape != (header["stop"] - header["start"],) or not np.isfinite(scores).all():
            return None
        return scores

    def write_chunk(self, key: str, index: int, header: dict[str, Any], scores: np.ndarray) -> None:
        if not self.write:
            return
        path = self.chunk_path(key, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": CHUNK_FORMAT, **header, "scores": [float(s) for s in scores]}
        with atomic_open(path, "w", encoding="utf-8") as fh:
            json.dump(body, fh)

    def prune_scores(self, keep: set[str]) -> None:
        """Remove the chunk files textsiam wrote for other teachers or recipes than those of ``keep`` (their
        folders too when that leaves them empty); other files stay."""
        if not self.write or not (self.folder / SCORES_DIR).is_dir():  # type: ignore[operator]
            return
        removed = 0
        for sub in sorted((self.folder / SCORES_DIR).iterdir()):  # type: ignore[operator]
            if sub.name in keep or not sub.is_dir() or sub.is_symlink():
                continue
            for path in sub.iterdir():
                data = self._read_json(path) if CHUNK_NAME.match(path.name) and path.is_file() else None
                if isinstance(data, dict) and data.get("format") == CHUNK_FORMAT:
                    path.unlink()
                    removed += 1
            if not any(sub.iterdir()):
                sub.rmdir()
        if removed:
            logger.info("removed %d score file(s) of an earlier teacher or recipe from %s", removed, self.folder)

    # ------------------------------------------------------------------------------------------ pairs
    def write_pairs(self, rows: list[dict[str, Any]]) -> None:
        if self.write:
            self._write_text(PAIRS_FILE, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    # ------------------------------------------------------------------------------------------ helpers
    def _write_text(self, name: str, text: str) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.folder / name, "w", encoding="utf-8") as fh:
            fh.write(text)

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
