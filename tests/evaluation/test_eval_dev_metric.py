from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score

from textsiam.evaluation import DevMetric, find_best_threshold, make_dev_metric
from textsiam.evaluation.evaluator import get_evaluator

from .helpers import RandomEncoder, direct_scores, make_quora, make_sts


def test_dev_metric(fake_data, encoder, reference):
    sts = make_dev_metric("stsb")
    assert sts.metric_name == "cosine_spearman" and sts.greater_is_better
    value = sts(encoder)
    assert value == pytest.approx(reference["dev_metric"]["stsb"], rel=1e-12)
    assert value == pytest.approx(get_evaluator("stsb", "dev", n_resamples=0)(encoder)["cosine_spearman"])
    mrpc = make_dev_metric("mrpc")
    dev = fake_data[0][("mrpc", "dev")]
    s = direct_scores(encoder, dev)
    t = find_best_threshold(s, dev["label"])
    assert mrpc(encoder) == pytest.approx(100 * accuracy_score(dev["label"], s >= t))
    assert mrpc(encoder) == pytest.approx(reference["dev_metric"]["mrpc"], rel=1e-12)
    assert mrpc(RandomEncoder()) < mrpc(encoder)
    assert repr(mrpc) == "DevMetric(name='mrpc', split='dev', task='classification', n_pairs=100)"


def test_dev_metric_on_own_pairs_and_any_task(encoder):
    metric = DevMetric("dev", pairs=make_sts(40, 2), task="sts", primary_similarity="dot")
    assert metric.metric_name == "dot_spearman" and 0 < metric(encoder) <= 100
    retrieval = DevMetric("mine", pairs=make_quora(60, 1), task="retrieval")
    assert retrieval.metric_name == "cosine_mrr@10" and 0 < retrieval(encoder) <= 100
    with pytest.raises(ValueError, match="unknown task"):
        DevMetric("dev", pairs=make_sts(4, 2), task="nli")
