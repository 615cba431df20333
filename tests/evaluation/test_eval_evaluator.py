from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from textsiam.evaluation import EvaluationResults, STSEvaluator, evaluate
from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.evaluator import EVALUATORS, evaluate_dataset, get_evaluator, named_inputs

from .helpers import HashingEncoder, assert_same, make_pairs_clf, make_sts

N_BOOT = 100  # as in the reference numbers; the library default is 1000


def test_evaluate_gives_the_numbers_of_the_old_evaluator(fake_data, encoder, reference):
    data, log = fake_data
    res = evaluate(encoder, ["stsb", "sick", "mrpc", "quora"], n_resamples=N_BOOT, show_progress_bar=False)
    assert isinstance(res, EvaluationResults) and res.datasets == ["stsb", "sick", "mrpc", "quora"]
    # every number, threshold, CI and key (in order) as computed before the redesign
    assert_same(res.results, reference["evaluate"])
    assert res["stsb"]["primary_value"] == pytest.approx(94.49621139825379, rel=1e-12)
    assert res["sick"]["metrics"]["cosine_mse"] == pytest.approx(reference["evaluate"][1]["metrics"]["cosine_mse"])
    assert res["mrpc"]["primary_value"] == pytest.approx(85.33333333333334, rel=1e-12)
    assert res["mrpc"]["ci"]["cosine_accuracy"] == pytest.approx({"low": 80.0, "high": 89.68333333333332})
    assert res["quora"]["metrics"]["cosine_accuracy"] == pytest.approx(99.16666666666667, rel=1e-12)
    assert res.model == "hashing-bow" and res.seed == 0 and res.n_resamples == N_BOOT
    assert set(res.versions) >= {"textsiam", "torch", "transformers", "datasets", "scikit-learn", "scipy", "numpy"}
    # dev is loaded for the classification datasets only
    assert ("mrpc", "dev") in log and ("quora", "dev") in log and ("stsb", "dev") not in log
    for r in res:
        assert r["primary_value"] == r["metrics"][r["primary_metric"]]
        ci = r["ci"][r["primary_metric"]]
        assert ci["low"] <= r["primary_value"] <= ci["high"]
        assert r["wall_time_s"] >= 0 and r["split"] == "test"
    assert res.to_json()  # strict JSON


def test_deprecated_evaluate_dataset_still_gives_the_old_records(fake_data, encoder, reference):
    expected = reference["evaluate_dataset"]
    calls = {
        "quora_transitive": lambda: evaluate_dataset(encoder, "quora", n_resamples=50, transitive_relevance=True),
        "mrpc_dev_manhattan": lambda: evaluate_dataset(
            HashingEncoder(similarity_fn_name="manhattan"), "mrpc", "dev", n_resamples=50, similarities=["cosine"]
        ),
        "custom_sts": lambda: evaluate_dataset(
            encoder, "mine", pairs=fake_data[0][("sick", "test")], task="sts", n_resamples=50
        ),
        "mrpc_retrieval": lambda: evaluate_dataset(encoder, "mrpc", n_resamples=0, retrieval=True),
    }
    for key, call in calls.items():
        with pytest.warns(DeprecationWarning, match="evaluate_dataset is deprecated"):
            record = call()
        assert_same(record, expected[key], key)


def test_own_data_in_every_table_format(fake_data, encoder):
    data, _ = fake_data
    stsb = data[("stsb", "test")]
    named = evaluate(encoder, "stsb", n_resamples=0, show_progress_bar=False)["stsb"]
    st_format = {"sentence1": stsb["text_a"], "sentence2": stsb["text_b"], "score": stsb["label"]}
    for table in (stsb, pd.DataFrame(stsb), Dataset.from_dict(stsb), st_format):
        r = evaluate(encoder, table, task="sts", n_resamples=0, show_progress_bar=False)["custom"]
        assert r["task"] == "sts" and "score_range" not in r  # custom data: no known gold scale, no MSE
        assert r["metrics"] == {k: v for k, v in named["metrics"].items() if not k.endswith("_mse")}
    mrpc, mrpc_dev = data[("mrpc", "test")], data[("mrpc", "dev")]
    r = evaluate(encoder, pd.DataFrame(mrpc), task="classification", dev_pairs=mrpc_dev, n_resamples=0)["custom"]
    assert r["metrics"] == evaluate(encoder, "mrpc", n_resamples=0)["mrpc"]["metrics"]
    r = evaluate(encoder, Dataset.from_dict(data[("quora", "test")]), task="retrieval", n_resamples=0)["custom"]
    assert r["primary_metric"] == "cosine_mrr@10" and r["retrieval"]["n_queries"] > 0


def test_names_of_own_data_and_mixed_lists(fake_data, encoder):
    sts = make_sts(40, 3)
    res = evaluate(encoder, {"mine": sts, "yours": pd.DataFrame(sts)}, task="sts", n_resamples=0)
    assert res.datasets == ["mine", "yours"] and res["mine"]["metrics"] == res["yours"]["metrics"]
    res = evaluate(encoder, ["stsb", sts, "sick", sts], task="sts", n_resamples=0)
    assert res.datasets == ["stsb", "custom_2", "sick", "custom_4"]
    assert named_inputs(sts) == [("custom", sts)] and named_inputs("sick") == [("sick", None)]
    # a registered name with your own pairs keeps the dataset's settings (here the STS-B score range)
    assert evaluate(encoder, {"stsb": sts}, n_resamples=0)["stsb"]["score_range"] == [0.0, 5.0]


def test_clear_errors_for_own_data(fake_data, encoder):
    sts = make_sts(10, 3)
    with pytest.raises(ValueError, match=r"'nope' is neither a registered dataset \(stsb, .*\) nor an existing file"):
        evaluate(encoder, "nope")
    with pytest.raises(ValueError, match=r"'nope.csv' is neither a registered dataset .* nor an existing file"):
        evaluate(encoder, ["stsb", "nope.csv"], task="sts")
    with pytest.raises(ValueError, match="unknown task 'nli'"):
        evaluate(encoder, sts, task="nli")
    with pytest.raises(ValueError, match="must have columns text_a, text_b and label"):
        evaluate(encoder, pd.DataFrame({"q1": ["a"], "q2": ["b"], "label": [1]}), task="classification")
    with pytest.raises(ValueError, match="must be a pair table"):
        evaluate(encoder, {"first": ["a"], "second": ["b"], "label": [1]}, task="classification")
    with pytest.raises(ValueError, match="no datasets"):
        evaluate(encoder, [])
    assert encoder.calls == []  # every input is checked before anything is encoded
    with pytest.raises(TypeError, match="unknown evaluation option"):
        get_evaluator("stsb", batchsize=8)


def test_registry_and_option_routing(fake_data):
    assert list(EVALUATORS) == ["sts", "classification", "retrieval", "triplet", "paired_retrieval", "label_retrieval"]
    for task, cls in EVALUATORS.items():
        assert cls.task == task and cls.primary_key and issubclass(cls, PairEvaluator)
    # options only other tasks take are ignored: one option set serves every dataset
    ev = get_evaluator("stsb", retrieval=True, dev_pairs=make_pairs_clf(4, 1), batch_size=8)
    assert isinstance(ev, STSEvaluator) and ev.batch_size == 8 and ev.score_range == (0.0, 5.0)
    assert get_evaluator("quora", task="retrieval").task == "retrieval"


def test_a_new_task_is_one_class_and_one_registry_entry(monkeypatch, encoder):
    class MeanSimilarityEvaluator(PairEvaluator):
        """Toy task: the mean similarity ×100."""

        task = "mean"
        primary_key = "mean"

        def compute(self, encoded, similarities, primary):
            metrics = {f"{s}_mean": 100 * float(np.mean(encoded.scores[0][s])) for s in similarities}
            return TaskResult(metrics=metrics, main_metrics=[f"{primary}_mean"])

        def primary_inputs(self, model):
            _, primary = self.resolve(model)
            scores = self.encode(model, [primary]).scores[0][primary]
            return PrimaryInputs(primary, np.zeros(len(scores)), scores)

        @staticmethod
        def primary_fn(gold, values):
            return 100 * float(np.mean(values))

    monkeypatch.setitem(EVALUATORS, "mean", MeanSimilarityEvaluator)
    res = evaluate(encoder, make_sts(20, 1), task="mean", n_resamples=0, show_progress_bar=False)
    assert res["custom"]["primary_metric"] == "cosine_mean" and res["custom"]["task"] == "mean"


def test_bad_model_outputs_raise(fake_data):
    class NaNModel(HashingEncoder):
        def encode(self, texts, batch_size=32, show_progress_bar=False):
            out = super().encode(texts)
            out[0, 0] = np.nan
            return out

    class WrongShape(HashingEncoder):
        def encode(self, texts, batch_size=32, show_progress_bar=False):
            return super().encode(texts)[:-1]

    with pytest.raises(ValueError, match="NaN"):
        evaluate(NaNModel(), "stsb", n_resamples=0)
    with pytest.raises(ValueError, match="shape"):
        evaluate(WrongShape(), "mrpc", n_resamples=0)


@pytest.mark.slow
def test_real_loader_end_to_end(data_dir):
    """Uses the real loader and $TEXTSIAM_DATA (skipped when unset)."""
    res = evaluate(
        HashingEncoder(dim=256), ["stsb", "mrpc"], data_dir=data_dir, n_resamples=100, show_progress_bar=False
    )
    assert res["stsb"]["n_pairs"] == 1379 and res["mrpc"]["n_pairs"] == 1725
    assert res["mrpc"]["n_dev_pairs"] == 400
    assert 0 < res["stsb"]["primary_value"] < 100
