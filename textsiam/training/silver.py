"""The teacher pipeline (Augmented SBERT, Thakur et al., NAACL 2021): silver pairs labelled by a teacher join the
gold training pairs of the twin tower.

With ``silver_teacher`` set, :func:`~textsiam.training.run.run` calls :func:`add_silver` after the data step and
before the model step (through :func:`~textsiam.training.teacher_run.silver_step`, which first trains the teachers
described as ``{train: {...}}`` and names them by their folders):

1. **sample** new pairs of the distinct training texts, or of the texts ``silver_texts`` names
   (:mod:`~textsiam.training.silver_texts`), by :mod:`~textsiam.training.silver_sampling` (``bm25``, ``nn``,
   ``random``; ``silver_per_text`` per text and strategy, ``silver_max_pairs`` in all);
2. **label** them with the teacher, or each teacher of an ensemble, in cached chunks
   (:mod:`~textsiam.training.silver_labels`), together with up to :data:`MAX_MAPPING_PAIRS` gold pairs;
3. **map** the scores onto the gold label scale by a monotone fit on those gold pairs (0/1 labels: threshold 0.5);
4. with ``silver_label_match``, **keep** the silver pairs whose labels follow the gold labels' distribution
   (:mod:`~textsiam.training.silver_matching`);
5. **join** the silver pairs to the gold ones: the student trains on both with the task's loss and label transform.

With a run folder, ``output_dir/silver/`` records it all (:mod:`~textsiam.training.silver_store`), and a resumed or
repeated run with the same recipe and teacher reuses the samples and the teacher's scores.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.fingerprints import digest_json, model_fingerprint, rows_digest
from textsiam.training.silver_checks import TRAIN_SOURCE, silver_loss_problem
from textsiam.training.silver_labels import label_pairs, map_to_gold
from textsiam.training.silver_matching import match_label_distribution
from textsiam.training.silver_sampling import BM25_SETTINGS, SilverCandidates, distinct_texts, sample_pairs
from textsiam.training.silver_store import SILVER_DIR, SilverStore
from textsiam.training.silver_teachers import resolve_teachers
from textsiam.training.silver_texts import SilverTextPool, silver_text_pool

logger = logging.getLogger(__name__)

__all__ = ["MAX_MAPPING_PAIRS", "SILVER_DIR", "add_silver", "check_silver_data"]

#: At most this many gold pairs (a seeded subsample) are labelled by the teacher to fit the map onto the gold scale.
MAX_MAPPING_PAIRS = 5000
FORMAT = "textsiam-silver"


def add_silver(
    config: TrainConfig,
    tasks: list[Any],
    model: Any = None,
    given: Any = None,
    out: Path | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Sample, label and map silver pairs, and append them to the training table of the run's one task.

    Args:
        config: the run's config (``silver_*`` settings).
        tasks: the run's tasks (:class:`~textsiam.training.sources.TaskData`); the one task's ``train`` table gains
            the silver rows.
        model: the start model given to :func:`textsiam.fit` (``nn`` embeds with it), else ``None`` (it is loaded
            from ``config.model`` if ``nn`` needs it).
        given: :class:`~textsiam.training.sources.GivenData` (model objects named in ``silver_teacher``).
        out: the run folder (``output_dir/silver/`` is read and written), or ``None``: nothing is written.
        show_progress: a progress bar for long work.

    Returns:
        The record written to ``silver.json`` (sizes per strategy, teachers, mapping).

    Raises:
        ConfigError: the task's data are not labelled pairs, or a name stands for a model that was not given.
    """
    from textsiam.training.labels import raw_label_kind
    from textsiam.training.run_folder import process_rank

    check_silver_data(tasks)
    task = tasks[0]
    gold = task.train
    gold_a, gold_b, gold_y = list(gold["text_a"]), list(gold["text_b"]), list(gold["label"])
    binary = raw_label_kind(gold_y) == "binary"
    store = SilverStore(out / SILVER_DIR if out is not None else None, write=process_rank() == 0)
    teachers = resolve_teachers(config.silver_teacher, given, config.silver_prompt_name)  # type: ignore[arg-type]
    pool = None
    if list(config.silver_texts) != [TRAIN_SOURCE]:
        pool = silver_text_pool(config.silver_texts, distinct_texts(gold_a, gold_b), config, given)
    recipe = _recipe(config, gold_a, gold_b, gold_y, model, pool)
    recipe_digest = digest_json(recipe)
    earlier = store.read_record()
    _report_changes(earlier, recipe_digest, teachers, store)

    candidates = store.read_candidates(recipe_digest)
    if candidates is None:
        candidates = sample_pairs(
            gold_a,
            gold_b,
            config.silver_strategies,
            config.silver_per_text,
            config.silver_max_pairs,
            config.seed,
            embed=_embedder(config, model, show_progress) if "nn" in config.silver_strategies else None,
            pool=pool.texts if pool is not None else None,
        )
        store.write_candidates(recipe_digest, candidates)
    else:
        logger.info("silver: reusing the %d sampled pairs in %s", len(candidates), store.folder)

    rng = np.random.default_rng([config.seed, 3])
    mapping_rows = np.arange(len(gold_a))
    if len(mapping_rows) > MAX_MAPPING_PAIRS:
        mapping_rows = np.sort(rng.choice(len(gold_a), size=MAX_MAPPING_PAIRS, replace=False))
    texts_a = [gold_a[i] for i in mapping_rows] + candidates.text_a
    texts_b = [gold_b[i] for i in mapping_rows] + candidates.text_b
    pairs_digest = rows_digest(zip(texts_a, texts_b, strict=True))
    batch_size = config.silver_batch_size
    raw = label_pairs(teachers, texts_a, texts_b, pairs_digest, store, batch_size, show_progress=show_progress)
    g = len(mapping_rows)
    try:
        labels, scores, mapping = map_to_gold(
            raw[:g], [gold_y[i] for i in mapping_rows], raw[g:], config.silver_mapping, binary=binary
        )
    except ValueError as err:
        raise ConfigError([str(err)]) from None
    match = None
    if config.silver_label_match:
        keep, match = match_label_distribution(gold_y, labels, config.seed, binary=binary)
        candidates, labels, scores = _subset(candidates, keep), labels[keep], scores[keep]
        logger.info(
            "silver: %d of %d labelled pairs kept to match the gold labels' distribution", len(keep), len(raw) - g
        )
    task.train = _joined(gold, candidates, labels)
    record = _record(recipe, recipe_digest, teachers, pairs_digest, candidates, len(gold_a), g, mapping)
    if match is not None:
        record["label_match"] = match
    store.write_pairs(
        [
            {"text_a": a, "text_b": b, "label": y.item(), "score": round(float(s), 6), "strategy": st}
            for a, b, y, s, st in zip(
                candidates.text_a, candidates.text_b, labels, scores, candidates.strategy, strict=True
            )
        ]
    )
    store.write_record(record)
    sizes = record["sizes"]
    logger.info(
        "silver: training on %d gold + %d silver pairs (%s)%s",
        sizes["gold_pairs"],
        sizes["silver_pairs"],
        ", ".join(f"{k} {v}" for k, v in sizes["per_strategy"].items()),
        f"; recorded in {store.folder}" if store.write else "",
    )
    return record


def check_silver_data(tasks: list[Any]) -> None:
    """Refuse data that silver pairs cannot join (before a teacher is trained or loaded): several tasks, rows that
    are not labelled pairs, or a loss chosen from the data that does not train on scores (classes: softmax).

    Raises:
        ConfigError: naming the data or the loss.
    """
    if len(tasks) != 1:
        raise ConfigError(["silver_teacher: silver pairs with multi-task training are not supported yet"])
    task = tasks[0]
    if task.kind != "pair" or "label" not in task.train.column_names:
        what = "pairs without labels" if task.kind == "pair" else f"{task.kind} rows"
        raise ConfigError(
            [
                "silver_teacher: silver pairs join labelled pairs (text_a, text_b, label), but the training data "
                f"({task.config.train_dataset}) are {what}"
            ]
        )
    problem = silver_loss_problem(task.config.loss)  # a loss chosen from the data (classes: softmax)
    if problem:
        raise ConfigError([problem])


def _recipe(
    config: TrainConfig,
    gold_a: list[str],
    gold_b: list[str],
    gold_y: list[Any],
    model: Any,
    pool: SilverTextPool | None,
) -> dict:
    """What the sampled pairs depend on (their cache key): the settings, the gold pairs, the texts of the pool
    (other than the training texts) and, for ``nn``, the start model's weights."""
    recipe: dict[str, Any] = {
        "strategies": list(config.silver_strategies),
        "per_text": config.silver_per_text,
        "max_pairs": config.silver_max_pairs,
        "seed": config.seed,
        "gold_pairs": rows_digest(zip(gold_a, gold_b, [float(y) for y in gold_y], strict=True)),
    }
    if pool is not None:  # the default pool (the training texts) adds nothing: earlier silver folders stay valid
        recipe["texts"] = {"sources": pool.sources, "digest": rows_digest([t] for t in pool.texts)}
    if "bm25" in config.silver_strategies:
        recipe["bm25"] = dict(BM25_SETTINGS)
    if "nn" in config.silver_strategies:
        start = model_fingerprint(model if model is not None else config.model)  # its weights, not where they are
        recipe["start_model"] = {
            "digest": start["digest"],
            "pooling": config.pooling,
            "max_seq_length": config.max_seq_length,
        }
    return recipe


def _embedder(config: TrainConfig, model: Any, show_progress: bool) -> Any:
    """``texts -> embeddings`` of the start model (the one given, else loaded from ``config.model`` for this step)."""

    def embed(texts: list[str]) -> np.ndarray:
        from textsiam.training.build import build_model

        start = model if model is not None else build_model(config)
        logger.info("silver: embedding %d texts with the start model for nn pairs", len(texts))
        show = show_progress and len(texts) >= 1000
        return np.asarray(start.encode(texts, batch_size=config.eval_batch_size, show_progress_bar=show))

    return embed


def _report_changes(earlier: dict[str, Any] | None, recipe_digest: str, teachers: list[Any], store: Any) -> None:
    """Say what changed since the silver pairs in the run folder were made (they are made again)."""
    if earlier is None or earlier.get("format") != FORMAT:
        return
    if earlier.get("recipe_digest") != recipe_digest:
        logger.warning(
            "silver: the recipe (strategies, caps, seed, gold pairs, silver texts or start model) differs from the "
            "one in %s: sampling and labelling again",
            store.folder,
        )
    before = [t.get("fingerprint") for t in earlier.get("teachers", []) if isinstance(t, dict)]
    now = [t.fingerprint for t in teachers]
    if before != now:
        names = [t.get("name") for t in earlier.get("teachers", []) if isinstance(t, dict)]
        logger.warning(
            "silver: the teacher differs from the one that labelled the pairs in %s (was %s, now %s): labelling again",
            store.folder,
            ", ".join(map(str, names)) or "?",
            ", ".join(t.weights["name"] for t in teachers),
        )


def _subset(candidates: SilverCandidates, keep: np.ndarray) -> SilverCandidates:
    """The candidates at the indices ``keep`` (``kept`` recounted per strategy)."""
    strategy = [candidates.strategy[i] for i in keep]
    kept = {name: strategy.count(name) for name in candidates.kept}
    return SilverCandidates(
        [candidates.text_a[i] for i in keep], [candidates.text_b[i] for i in keep], strategy,
        dict(candidates.found), kept, candidates.texts,
    )  # fmt: skip


def _joined(gold: datasets.Dataset, candidates: SilverCandidates, labels: np.ndarray) -> datasets.Dataset:
    """The gold table with the silver rows after it (labels as float64 when the gold ones are integers and the silver
    ones are not)."""
    if not len(candidates):
        return gold
    features = gold.features.copy()
    if labels.dtype.kind == "f" and features["label"].dtype != "float64":
        features["label"] = datasets.Value("float64")
        gold = gold.cast(features)
    silver = datasets.Dataset.from_dict(
        {"text_a": candidates.text_a, "text_b": candidates.text_b, "label": labels.tolist()}, features=features
    )
    return datasets.concatenate_datasets([gold, silver])


def _record(
    recipe: dict[str, Any],
    recipe_digest: str,
    teachers: list[Any],
    pairs_digest: str,
    candidates: SilverCandidates,
    gold_pairs: int,
    mapping_pairs: int,
    mapping: dict[str, Any],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": 1,
        "recipe": recipe,
        "recipe_digest": recipe_digest,
        "teachers": [t.describe() for t in teachers],
        "pairs_digest": pairs_digest,
        "sizes": {
            "gold_pairs": gold_pairs,
            "distinct_texts": candidates.texts,
            "found_per_strategy": candidates.found,
            "per_strategy": candidates.kept,
            "silver_pairs": len(candidates),
            "train_pairs": gold_pairs + len(candidates),
            "mapping_pairs": mapping_pairs,
        },
        "mapping": mapping,
    }
