"""The contenders of ``python -m benchmarks.distill``: the teacher, its students, sentence-transformers and model2vec.

Each is a :class:`Contender`: how to load it from its folder, the loaded model (anything with
``encode(texts, batch_size=..., show_progress_bar=...)``) and what is known about it (dimension, parameters, time
to distil).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("benchmarks.distill")

#: the names of the teacher and of the two peers (a student's name may be none of these)
TEACHER, ST, MODEL2VEC = "teacher", "st-fp32", "model2vec"


@dataclass
class Contender:
    """One model in the comparison: how to load it, the loaded encoder and what is known about it."""

    name: str
    kind: str  # teacher | sentence-transformers | static | cnn | lstm | model2vec | ...
    path: Path
    load: Callable[[], Any]  # loads the model from ``path`` (timed for the load column)
    model: Any = None  # has encode(texts, batch_size=..., show_progress_bar=...) -> (N, D)
    dim: int | None = None
    params: int | None = None
    distil: dict[str, Any] | None = None  # time to distil and where the figure comes from
    info: dict[str, Any] = field(default_factory=dict)

    def encode(self, texts: list[str], batch_size: int) -> Any:
        return self.model.encode(texts, batch_size=batch_size, show_progress_bar=False)


class StaticModelAdapter:
    """A model2vec ``StaticModel`` with the ``encode`` signature textsiam's evaluators call; float32 output.

    ``batch_size`` is model2vec's own; multiprocessing is off (model2vec turns it on above 10,000 texts), so every
    contender encodes in one process.
    """

    similarity_fn_name = "cosine"

    def __init__(self, model: Any, name_or_path: str) -> None:
        self.model = model
        self.name_or_path = name_or_path

    def encode(
        self,
        texts: Any,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
        **kwargs: Any,
    ) -> Any:
        import numpy as np

        single = isinstance(texts, str)
        items = [texts] if single else [str(t) for t in texts]
        emb = self.model.encode(
            items, batch_size=batch_size, show_progress_bar=show_progress_bar, use_multiprocessing=False
        )
        emb = np.asarray(emb, dtype=np.float32)
        if normalize_embeddings:
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb[0] if single else emb


def folder_bytes(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def torch_params(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def textsiam_contender(name: str, kind: str, path: Path) -> Contender:
    from textsiam import SiameseModel

    c = Contender(name, kind, path, lambda: SiameseModel.from_pretrained(str(path), device="cpu"))
    c.model = c.load()
    c.dim = int(c.model.embedding_dim)
    c.params = torch_params(c.model)
    return c


def student_contender(name: str, path: Path) -> Contender:
    """A ``textsiam distill`` output folder: the model, and the kind and timings of its ``distillation.json``."""
    from textsiam.training.distill import DISTILL_INFO_NAME

    info_path = path / DISTILL_INFO_NAME
    info: dict[str, Any] = {}
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
    else:
        logger.warning("%s: no %s in %s: kind and time to distil unknown", name, DISTILL_INFO_NAME, path)
    kind = str(info.get("config", {}).get("tower", "unknown"))
    c = textsiam_contender(name, kind, path)
    if info:
        teacher_s, train_s = float(info.get("teacher_seconds", 0.0)), float(info.get("train_seconds", 0.0))
        c.distil = {
            "seconds": teacher_s + train_s,
            "teacher_seconds": teacher_s,
            "train_seconds": train_s,
            "source": DISTILL_INFO_NAME,
        }
        c.info = {
            "teacher": info.get("teacher"),
            "n_texts": info.get("n_texts"),
            "config": info.get("config"),
            "textsiam_version": info.get("textsiam_version"),
        }
    return c


def st_contender(path: Path) -> Contender:
    from sentence_transformers import SentenceTransformer

    c = Contender(ST, "sentence-transformers", path, lambda: SentenceTransformer(str(path), device="cpu"))
    c.model = c.load()
    dim_fn = getattr(c.model, "get_embedding_dimension", None) or c.model.get_sentence_embedding_dimension
    c.dim = int(dim_fn())
    c.params = torch_params(c.model)
    return c


def model2vec_contender(teacher_path: Path, work_dir: Path) -> Contender:
    """model2vec distilled from the teacher's folder with its defaults (timed), saved to ``work_dir/model2vec``."""
    from model2vec import StaticModel
    from model2vec.distill import distill

    start = time.perf_counter()
    m = distill(model_name=str(teacher_path), device="cpu")
    seconds = time.perf_counter() - start
    out = work_dir / MODEL2VEC
    m.save_pretrained(str(out))
    logger.info("model2vec distilled in %.1fs, saved to %s", seconds, out)
    c = Contender(
        MODEL2VEC,
        MODEL2VEC,
        out,
        lambda: StaticModelAdapter(StaticModel.from_pretrained(str(out)), f"model2vec of {teacher_path}"),
    )
    c.model = c.load()
    static = c.model.model
    weights = getattr(static, "weights", None)
    c.dim = int(static.dim)
    c.params = int(static.embedding.size + (weights.size if weights is not None else 0))
    c.distil = {"seconds": seconds, "source": "measured in this run"}
    c.info = {"config": static.config, "embedding_dtype": str(static.embedding.dtype)}
    return c
