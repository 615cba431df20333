"""Beyond one machine: encoding and scoring on a Ray cluster (:mod:`textsiam.distributed.ray_engine`).

Distributed *training* needs nothing here: ``torchrun --nproc_per_node N -m textsiam train ...`` runs the
``transformers.Trainer`` under DDP (see :func:`textsiam.training.train`).
"""

from __future__ import annotations

from textsiam.distributed.ray_engine import encode_file, read_embeddings, read_scores, require_ray, score_file

__all__ = ["encode_file", "read_embeddings", "read_scores", "require_ray", "score_file"]
