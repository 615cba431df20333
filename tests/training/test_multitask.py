"""Multi-task training: the batch samplers (sentence-transformers' proportional and round-robin), one task per
batch, one loss per task, one dev metric per task plus their mean, and the ``train_datasets`` recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

import textsiam
from textsiam.training import ConfigError, TrainConfig, train
from textsiam.training.multitask import MultiTaskBatchSampler, MultiTaskCollator, MultiTaskDataset
from textsiam.training.sampler import SiameseBatchSampler
from textsiam.training.tasks import task_views

from .helpers import make_clf_rows, make_sts_rows, write_csv


def _sampler(sizes: dict[str, int], strategy: str, batch_size: int = 4, seed: int = 0) -> MultiTaskBatchSampler:
    samplers = {n: SiameseBatchSampler(batch_size=batch_size, seed=seed, num_examples=k) for n, k in sizes.items()}
    offsets = list(np.cumsum([0, *sizes.values()])[:-1])
    return MultiTaskBatchSampler(samplers, offsets, strategy, seed)


def _task_of(index: int, sizes: dict[str, int]) -> str:
    start = 0
    for name, k in sizes.items():
        if index < start + k:
            return name
        start += k
    raise AssertionError(index)


def test_proportional_uses_every_batch_once_each_from_one_task():
    sizes = {"a": 40, "b": 10, "c": 21}
    sampler = _sampler(sizes, "proportional")
    batches = sampler.batches(0)
    assert len(batches) == 10 + 3 + 6 == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(71))
    assert all(len({_task_of(i, sizes) for i in b}) == 1 for b in batches)
    tasks = [_task_of(b[0], sizes) for b in batches]
    assert tasks != sorted(tasks, key=list(sizes).index)  # mixed, not task after task
    assert sampler.batches(0) == _sampler(sizes, "proportional").batches(0)  # seeded
    assert sampler.batches(1) != batches  # a new order each epoch
    assert _sampler(sizes, "proportional", seed=1).batches(0) != batches


def test_round_robin_takes_one_batch_per_task_until_the_smallest_runs_out():
    sizes = {"a": 40, "b": 10, "c": 21}
    batches = _sampler(sizes, "round_robin").batches(0)
    assert len(batches) == 3 * 3  # b has 3 batches
    assert [_task_of(b[0], sizes) for b in batches] == ["a", "b", "c"] * 3


def test_set_epoch_reaches_every_task_sampler():
    sampler = _sampler({"a": 12, "b": 12}, "proportional")
    seen = []
    sampler.add_epoch_listener(seen.append)
    sampler.set_epoch(3)
    assert seen == [3] and all(s.epoch == 3 for s in sampler.samplers.values())


def test_dataset_rows_name_their_task_and_the_collator_refuses_a_mixed_batch():
    import datasets

    ds = MultiTaskDataset(
        {
            "x": datasets.Dataset.from_dict({"text_a": ["a", "b"], "label": [0, 1]}),
            "y": datasets.Dataset.from_dict({"text_a": ["c"], "text_b": ["d"]}),
        }
    )
    assert len(ds) == 3 and ds[2] == {"text_a": "c", "text_b": "d", "task": "y"}
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    collator = MultiTaskCollator({"x": lambda rows: {"n": len(rows)}, "y": lambda rows: {"n": len(rows)}})
    assert collator([ds[0], ds[1]]) == {"n": 2, "task": "x"}
    with pytest.raises(ValueError, match="must come from one task"):
        collator([ds[0], ds[2]])


def test_task_views_take_the_entry_over_the_top_level():
    config = TrainConfig(
        loss="cosent",
        loss_kwargs={"scale": 10.0},
        batch_size=8,
        train_datasets={"stsb": {}, "quora": {"loss": "online_contrastive"}, "mine": {"dataset": "pairs.csv"}},
    )
    views = task_views(config)
    assert views["stsb"].train_dataset == "stsb" and views["stsb"].dev_dataset == "stsb"
    assert views["stsb"].loss == "cosent" and views["stsb"].loss_kwargs == {"scale": 10.0}
    assert views["quora"].loss == "online_contrastive" and views["quora"].loss_kwargs == {}
    assert views["mine"].dev_dataset is None  # a file has no dev split of its own
    assert all(v.batch_size == 8 and not v.train_datasets for v in views.values())


def test_task_problems_are_reported_per_task():
    config = TrainConfig(
        train_datasets={"stsb": {"loss": "contrastive"}, "q": {"dataset": "quora", "los": "mnrl"}},
        multi_dataset_batch_sampler="random",
    )
    with pytest.raises(ConfigError, match="train_datasets") as err:
        config.validate()
    text = str(err.value)
    assert "train_datasets.stsb (stsb): loss 'contrastive' needs 0/1 labels" in text.replace(": train_dataset", "")
    assert "train_datasets.q: unknown key 'los'" in text
    assert "unknown multi_dataset_batch_sampler 'random'" in text


@pytest.fixture
def two_tasks(tmp_path):
    sts = write_csv(tmp_path / "sts.csv", make_sts_rows(40, 1))
    sts_dev = write_csv(tmp_path / "sts_dev.csv", make_sts_rows(30, 2))
    clf = write_csv(tmp_path / "clf.csv", make_clf_rows(32, 3))
    clf_dev = write_csv(tmp_path / "clf_dev.csv", make_clf_rows(30, 4))
    return {
        "sts": {"dataset": str(sts), "dev_dataset": str(sts_dev), "loss": "cosent"},
        "dup": {"dataset": str(clf), "dev_dataset": str(clf_dev), "loss": "softmax"},
    }


def test_a_multitask_recipe_trains_each_task_with_its_loss(tmp_path, tiny_model_dir, two_tasks):
    recipe = tmp_path / "multi.yaml"
    config = TrainConfig(
        model=str(tiny_model_dir),
        train_datasets=two_tasks,
        multi_dataset_batch_sampler="round_robin",
        epochs=2,
        batch_size=8,
        learning_rate=1e-3,
        n_resamples=0,
        output_dir=str(tmp_path / "run"),
    )
    config.to_file(recipe)
    config = TrainConfig.from_file(recipe)  # the YAML form says the same
    assert config.train_datasets == two_tasks
    result = train(config, show_progress=False)
    assert result.global_step == 2 * 2 * 4  # round robin: 4 rounds (the smaller task) of 2 tasks, 2 epochs
    assert result.metric_name == "mean_dev"
    for entry in result.dev_history:
        per_task = [entry["sts_cosine_spearman"], entry["dup_cosine_accuracy"]]
        assert entry["mean_dev"] == pytest.approx(np.mean(per_task))
    assert {r["dataset"] for r in result.evaluation.results} == {
        two_tasks["sts"]["dev_dataset"],
        two_tasks["dup"]["dev_dataset"],
    }
    log = json.loads((tmp_path / "run" / "train_log.json").read_text())
    assert any("eval_sts_cosine_spearman" in e and "eval_mean_dev" in e for e in log)
    from safetensors.torch import load_file

    checkpoint = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1]
    keys = load_file(str(checkpoint / "model.safetensors")).keys()
    assert any(k.startswith("losses.dup.") for k in keys)  # the softmax head of its task is trained and saved


def test_fit_with_a_dict_of_tasks_and_losses(tiny_model):
    sts, dup = make_sts_rows(32, 1), make_clf_rows(32, 2)
    result = textsiam.fit(
        tiny_model,
        {"sts": sts, "dup": dup},
        loss={"sts": "cosine_similarity", "dup": "online_contrastive"},
        dev={"sts": make_sts_rows(20, 5)},
        epochs=1,
        batch_size=8,
        show_progress=False,
    )
    assert result.global_step == 8  # proportional: every batch of both tasks
    assert result.metric_name == "mean_dev" and "sts_cosine_spearman" in result.dev_history[-1]
    assert {t: c["loss"] for t, c in result.config.train_datasets.items()} == {
        "sts": "cosine_similarity",
        "dup": "online_contrastive",
    }
    with pytest.raises(ValueError, match="with several tasks, dev must be a dict"):
        textsiam.fit(tiny_model, {"sts": sts, "dup": dup}, dev=make_sts_rows(20, 5), show_progress=False)
    with pytest.raises(ValueError, match="are not the tasks of train"):
        textsiam.fit(tiny_model, {"sts": sts, "dup": dup}, loss={"other": "mnrl"}, show_progress=False)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


def test_multitask_resume_continues_exactly(tmp_path, tiny_model_dir, two_tasks):
    base = dict(
        model=str(tiny_model_dir),
        train_datasets=two_tasks,
        epochs=2,
        batch_size=8,
        learning_rate=1e-3,
        n_resamples=0,
        save_total_limit=None,
        eval_steps=3,
    )
    full = train(TrainConfig(**base, output_dir=str(tmp_path / "full")), show_progress=False)
    part = TrainConfig(**base, output_dir=str(tmp_path / "part"))
    train(part, callbacks=[StopAt(3)], show_progress=False)  # interrupted after the checkpoint of step 3
    resumed = train(part, resume=str(tmp_path / "part" / "checkpoints" / "checkpoint-3"), show_progress=False)
    a = full.model.state_dict()
    b = resumed.model.state_dict()
    assert resumed.global_step == full.global_step
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # the evaluation before the checkpoint (step 3) is in the resumed run's history, each task's figure too
    assert [h["step"] for h in resumed.dev_history] == [h["step"] for h in full.dev_history] == [3, 6, 9, 12, 15, 18]
    for mine, theirs in zip(resumed.dev_history, full.dev_history, strict=True):
        assert mine.keys() == theirs.keys() and all(mine[k] == pytest.approx(theirs[k], abs=1e-4) for k in mine)


def test_set_reaches_an_entry_of_a_task():
    config = TrainConfig(train_datasets={"quora": {"loss": "online_contrastive", "loss_kwargs": {"margin": 0.5}}})
    changed = config.with_overrides(
        ["train_datasets.quora.max_train_pairs=1000", "train_datasets.quora.loss_kwargs.margin=0.3"]
    )
    assert changed.train_datasets == {
        "quora": {"loss": "online_contrastive", "loss_kwargs": {"margin": 0.3}, "max_train_pairs": 1000}
    }
    assert task_views(changed)["quora"].max_train_pairs == 1000
    with pytest.raises(ConfigError, match="which is not a mapping"):
        config.with_overrides(["train_datasets.quora.loss.x=1"])


def test_top_level_data_beside_train_datasets_is_refused():
    config = TrainConfig(train_datasets={"stsb": {}}, dev_dataset="dev.csv")
    with pytest.raises(ConfigError, match="dev_dataset is not used with train_datasets"):
        config.validate()


def test_the_saved_recipe_of_a_multitask_run_is_the_one_that_ran(tmp_path, tiny_model_dir, two_tasks):
    # review finding: a task entry inheriting the top-level loss lost its loss_kwargs in the saved config
    for entry in two_tasks.values():
        entry.pop("loss")
    config = TrainConfig(
        model=str(tiny_model_dir),
        train_datasets=two_tasks,
        loss="cosent",
        loss_kwargs={"scale": 10.0},
        epochs=1,
        batch_size=8,
        n_resamples=0,
        output_dir=str(tmp_path / "run"),
    )
    result = train(config, show_progress=False)
    saved = TrainConfig.from_file(tmp_path / "run" / "train_config.yaml")
    views = {n: (v.loss, v.loss_kwargs) for n, v in task_views(saved).items()}
    assert views == {"sts": ("cosent", {"scale": 10.0}), "dup": ("cosent", {"scale": 10.0})}
    assert views == {n: (v.loss, v.loss_kwargs) for n, v in task_views(result.config).items()}
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "`sts`:" in card and "loss `cosent` with `{'scale': 10.0}`" in card


def test_fit_keeps_loss_kwargs_for_every_task_and_records_a_loss_object(tiny_model, tmp_path):
    from textsiam.losses import CoSENTLoss

    sts, dup = make_sts_rows(16, 1), make_clf_rows(16, 2)
    result = textsiam.fit(
        tiny_model, {"a": sts, "b": sts}, loss="cosent", loss_kwargs={"scale": 10.0}, epochs=1, show_progress=False
    )
    assert {n: v.loss_kwargs for n, v in task_views(result.config).items()} == {
        "a": {"scale": 10.0},
        "b": {"scale": 10.0},
    }
    result = textsiam.fit(
        tiny_model, sts, loss=CoSENTLoss(scale=7.0), epochs=1, output_dir=tmp_path / "run", show_progress=False
    )
    saved = TrainConfig.from_file(tmp_path / "run" / "train_config.yaml")
    assert (saved.loss, saved.loss_kwargs) == ("cosent", {"scale": 7.0, "similarity": "cosine"})
    with pytest.raises(ValueError, match="loss_kwargs with a dict of losses"):
        textsiam.fit(tiny_model, {"a": sts, "b": dup}, loss={"a": "cosent"}, loss_kwargs={"scale": 1.0})


def test_tasks_of_one_size_are_shuffled_differently(tiny_model):
    # review finding: every task sampler had the same seed, so equal-size tasks were visited in the same order
    seen = {}

    class Capture(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            sampler = kwargs["train_dataloader"].batch_sampler
            seen.update({n: [i for b in s.batches(0) for i in b] for n, s in sampler.samplers.items()})

    rows = make_sts_rows(16, 1)
    textsiam.fit(tiny_model, {"x": rows, "y": rows}, epochs=1, batch_size=4, callbacks=[Capture()], show_progress=False)
    assert sorted(seen["x"]) == sorted(seen["y"]) == list(range(16))
    assert seen["x"] != seen["y"]
