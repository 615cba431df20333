"""The twin tower: one encoder applied to both texts, its similarity functions, and how it is saved and loaded.

* :mod:`~textsiam.model.siamese`: :class:`SiameseModel` (embed, forward, encode, similarity, save);
* :mod:`~textsiam.model.cross_encoder`: :class:`CrossEncoder` (a pair read together: predict, rank, save), and
  :mod:`~textsiam.model.cross_encoder_layout`: its folders (sentence-transformers' CrossEncoder layouts);
* :mod:`~textsiam.model.config`: ``textsiam.json`` (:class:`SiameseConfig`);
* :mod:`~textsiam.model.projection`: the optional dense layer;
* :mod:`~textsiam.model.scoring`: the similarity functions (cosine, dot, euclidean, manhattan, malstm);
* :mod:`~textsiam.model.loading`: loading from a textsiam save, a sentence-transformers folder, a Hugging Face
  checkpoint or a Hub name, with the torch or ONNX backend;
* :mod:`~textsiam.model.st_layout`: reading a sentence-transformers module layout;
* :mod:`~textsiam.model.scheduler`: thread-safe, length-sorted batched inference;
* :mod:`~textsiam.model.inference`: what ``encode`` does with its keywords; :mod:`~textsiam.model.token_outputs`:
  per-token outputs; :mod:`~textsiam.model.multiprocess`: encoding in a pool of worker processes;
* :mod:`~textsiam.model.st_api`: sentence-transformers' vocabulary (prompts, truncation, similarity names);
* :mod:`~textsiam.model.precision`: float16 / int8 / binary embeddings, and :mod:`~textsiam.model.quantization`:
  sentence-transformers' quantisation codes (``quantize_embeddings``);
* :mod:`~textsiam.model.calibrator` and :mod:`~textsiam.model.calibrated`: calibrated scores and their lifecycle;
* :mod:`~textsiam.model.towers`: new LSTM / CNN towers over a source model's embeddings;
* :mod:`~textsiam.model.resolve`: :func:`~textsiam.model.resolve.get_model`, one shared model per name.
"""

from __future__ import annotations

from textsiam.model.config import SiameseConfig
from textsiam.model.cross_encoder import CrossEncoder
from textsiam.model.loading import default_model_path
from textsiam.model.projection import Projection
from textsiam.model.scoring import SIMILARITY_FUNCTIONS, pairwise_similarity, similarity_matrix
from textsiam.model.siamese import SiameseModel

__all__ = [
    "SIMILARITY_FUNCTIONS",
    "CrossEncoder",
    "Projection",
    "SiameseConfig",
    "SiameseModel",
    "default_model_path",
    "pairwise_similarity",
    "similarity_matrix",
]
