"""Fine-tuning Siamese models on top of :class:`transformers.Trainer`.

From Python, on data in hand (any of sentence-transformers' formats)::

    import textsiam

    model = textsiam.SiameseModel.from_pretrained()
    result = textsiam.fit(model, [("a man plays", "someone plays", 4.2), ...], loss="cosent", epochs=1)

From a recipe::

    from textsiam.training import TrainConfig, train

    config = TrainConfig.from_file("benchmarks/configs/stsb.yaml").with_overrides(["epochs=1"])
    result = train(config)  # validates first, then trains, saves output_dir/model, evaluates, writes a model card

or ``textsiam train --config stsb.yaml --set lr=3e-5``.

Modules (one concern each): :mod:`~textsiam.training.config` (the recipe; its fields and their help in
:mod:`~textsiam.training.config_fields`, value parsing in :mod:`~textsiam.training.config_values`, checks in
:mod:`~textsiam.training.config_checks`), :mod:`~textsiam.training.labels` (labels against the loss),
:mod:`~textsiam.training.examples` (example formats per loss), :mod:`~textsiam.training.pairs` (pairs, triplets,
hard negatives),
:mod:`~textsiam.training.augment`, :mod:`~textsiam.training.collator`, :mod:`~textsiam.training.sampler`,
:mod:`~textsiam.training.trainer` (the ``transformers.Trainer`` subclass), :mod:`~textsiam.training.run`
(:func:`train`: data, model, fit and finish steps, with :mod:`~textsiam.training.run_folder`,
:mod:`~textsiam.training.sources`, :mod:`~textsiam.training.build` and :mod:`~textsiam.training.dev`),
:mod:`~textsiam.training.card` (the model card), :mod:`~textsiam.training.averaging` (checkpoint soups, WiSE-FT)
and :mod:`~textsiam.training.distill` (a light tower distilled from a teacher, no labels needed).
"""

from __future__ import annotations

from typing import Any

from textsiam.training.augment import TextAugmenter
from textsiam.training.collator import SiameseDataCollator
from textsiam.training.config import ConfigError, TrainConfig, describe_fields
from textsiam.training.distill import DistillConfig, DistillResult, default_corpus, distill
from textsiam.training.examples import TrainExamples, build_examples
from textsiam.training.fitting import fit
from textsiam.training.pairs import (
    duplicate_clusters,
    make_pos_neg_pairs,
    mine_hard_negatives,
    positive_pairs,
    silver_pairs,
    triplets_from_clusters,
)
from textsiam.training.run import TrainResult, latest_checkpoint, train
from textsiam.training.sampler import SiameseBatchSampler

_LAZY = {"SiameseTrainer", "SiameseTrainingModel"}  # import transformers.Trainer only when used


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from textsiam.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DistillConfig",
    "DistillResult",
    "SiameseBatchSampler",
    "SiameseDataCollator",
    "SiameseTrainer",
    "SiameseTrainingModel",
    "TextAugmenter",
    "TrainConfig",
    "TrainExamples",
    "TrainResult",
    "build_examples",
    "default_corpus",
    "describe_fields",
    "distill",
    "fit",
    "duplicate_clusters",
    "latest_checkpoint",
    "make_pos_neg_pairs",
    "mine_hard_negatives",
    "positive_pairs",
    "silver_pairs",
    "train",
    "triplets_from_clusters",
]
