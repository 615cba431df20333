"""Weight averaging: the weight arithmetic on plain tensors, the dev-driven searches, and train() end to end."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from textsiam import SiameseModel
from textsiam.evaluation import make_dev_metric
from textsiam.training import ConfigError, TrainConfig, train
from textsiam.training.averaging import (
    average_run,
    average_states,
    checkpoint_state,
    greedy_soup,
    interpolate_states,
    list_checkpoints,
    wise_ft,
)


def test_average_states_known_values_and_integer_buffers():
    a = {"w": torch.tensor([0.0, 2.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([4.0, 6.0]), "ids": torch.tensor([7, 7])}
    assert torch.equal(average_states([a, b])["w"], torch.tensor([2.0, 4.0]))
    assert torch.allclose(average_states([a, b], [3.0, 1.0])["w"], torch.tensor([1.0, 3.0]))
    assert torch.equal(average_states([a, b])["ids"], a["ids"])  # integers are not averaged
    half = {"w": torch.tensor([1.0, 1.0], dtype=torch.float16), "ids": a["ids"]}
    assert average_states([half, half])["w"].dtype == torch.float16


@pytest.mark.parametrize(
    "states, weights, message",
    [
        ([], None, "no states"),
        ([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}], None, "different keys"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}], None, "shape"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [1.0], "2 states"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [1.0, -1.0], "non-negative"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [0.0, 0.0], "not all zero"),
    ],
)
def test_average_states_rejects_bad_input(states, weights, message):
    with pytest.raises(ValueError, match=message):
        average_states(states, weights)


def test_interpolate_states():
    start, end = {"w": torch.tensor([0.0, 4.0])}, {"w": torch.tensor([8.0, 0.0])}
    assert torch.equal(interpolate_states(start, end, 0.0)["w"], start["w"])
    assert torch.equal(interpolate_states(start, end, 1.0)["w"], end["w"])
    assert torch.allclose(interpolate_states(start, end, 0.25)["w"], torch.tensor([2.0, 3.0]))
    for bad in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="alpha"):
            interpolate_states(start, end, bad)


def _linear_problem():
    """A 1x2 linear layer whose 'dev metric' is minus the distance of its weight to a target."""
    model = nn.Linear(2, 1, bias=False)
    target = torch.tensor([[1.0, 1.0]])

    def evaluate() -> float:
        return -float((model.weight.detach() - target).norm())

    def state(x: float, y: float) -> dict[str, torch.Tensor]:
        return {"weight": torch.tensor([[x, y]])}

    def dev(s: dict[str, torch.Tensor]) -> float:
        return -float((s["weight"] - target).norm())

    return model, evaluate, state, dev


def test_greedy_soup_keeps_only_checkpoints_that_help_on_dev():
    model, evaluate, state, dev = _linear_problem()
    a, b, c = state(2.0, 0.0), state(0.0, 2.0), state(5.0, 5.0)  # a+b average to the target; c is far away
    candidates = [("c", c, dev(c)), ("a", a, dev(a)), ("b", b, dev(b))]
    soup, report = greedy_soup(model, candidates, evaluate)
    assert report.soup_members == ["a", "b"]  # a (tied best, first), + b (helps), c dropped
    assert torch.allclose(soup["weight"], torch.tensor([[1.0, 1.0]]))
    assert torch.allclose(model.weight, soup["weight"])  # the model holds the soup
    assert report.final_dev == pytest.approx(0.0) and report.best_checkpoint_dev == pytest.approx(dev(a))
    assert [t["kept"] for t in report.trials] == [True, False]


def test_wise_ft_picks_alpha_on_dev_and_falls_back_to_the_tuned_weights():
    model, evaluate, state, dev = _linear_problem()
    start, tuned = state(0.0, 0.0), state(2.0, 2.0)  # the target lies at alpha = 0.5
    final, report = wise_ft(model, start, tuned, [0.25, 0.5, 0.75], evaluate, dev(tuned))
    assert report.wise_alpha == 0.5 and report.final_dev == pytest.approx(0.0)
    assert torch.allclose(final["weight"], torch.tensor([[1.0, 1.0]])) and torch.allclose(model.weight, final["weight"])
    assert [t["alpha"] for t in report.trials if t["kept"]] == [0.5]

    tuned = state(1.0, 1.0)  # already on target: every mix is worse, so alpha stays 1
    final, report = wise_ft(model, start, tuned, [0.5, 0.9], evaluate, dev(tuned))
    assert report.wise_alpha == 1.0 and torch.equal(final["weight"], tuned["weight"])
    assert not any(t["kept"] for t in report.trials)


def test_config_checks_and_command_line_lists():
    cfg = TrainConfig().with_overrides(["wise_alphas=0.5,0.75", "checkpoint_soup=true"])
    assert cfg.wise_alphas == [0.5, 0.75] and cfg.checkpoint_soup is True
    assert TrainConfig().with_overrides(["wise_alphas=[0.6]"]).wise_alphas == [0.6]
    with pytest.raises(ConfigError, match="wise_alphas"):
        TrainConfig().with_overrides(["wise_alphas=0.5,abc"])
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        TrainConfig(wise_alphas=[1.5]).validate()
    with pytest.raises(ConfigError, match="checkpoint_soup chooses weights on dev"):
        TrainConfig(checkpoint_soup=True, dev_dataset=None).validate()


def test_train_with_soup_and_wise_saves_the_weights_chosen_on_dev(tmp_path, tiny_config, tiny_model_dir, sts_files):
    cfg = tiny_config(epochs=3, eval_steps=2, checkpoint_soup=True, wise_alphas=[0.3, 0.6], n_resamples=0)
    result = train(cfg)
    report = result.averaging
    assert report is not None and report["metric_name"] == "cosine_spearman"
    checkpoints = list_checkpoints(result.output_dir / "checkpoints")
    assert len(checkpoints) >= 3
    assert report["final_dev"] >= report["best_checkpoint_dev"]
    assert {t["kind"] for t in report["trials"]} == {"soup", "wise"}
    assert len([t for t in report["trials"] if t["kind"] == "wise"]) == 2

    # the saved model is exactly what the report describes: its dev metric is final_dev ...
    import pandas as pd

    pairs = pd.read_csv(sts_files[1]).to_dict("list")  # same batches as in train(): same float rounding
    metric = make_dev_metric("dev", pairs=pairs, task="sts", batch_size=cfg.eval_batch_size)
    saved = SiameseModel.from_pretrained(result.model_dir, device="cpu")
    assert metric(saved) == pytest.approx(report["final_dev"], abs=1e-4)
    assert result.evaluation.results[0]["primary_value"] == pytest.approx(report["final_dev"], abs=1e-4)
    # ... and its weights are the soup of the named checkpoints, mixed with the start weights at wise_alpha
    by_name = {p.name: p for p in checkpoints}
    soup = average_states([checkpoint_state(by_name[m]) for m in report["soup_members"]])
    start = SiameseModel.from_pretrained(tiny_model_dir, device="cpu").state_dict()
    expected = interpolate_states(start, soup, report["wise_alpha"])
    weights = load_file(str(result.model_dir / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    (state_key,) = [k for k in expected if k.endswith(key)]
    assert torch.allclose(weights[key], expected[state_key], atol=1e-6)
    assert "Weight averaging (chosen on dev)" in (result.model_dir / "README.md").read_text()

    # after the fact, on the same run: the same choice
    model, again = average_run(result.output_dir, soup=True, wise_alphas=[0.3, 0.6], start_model=tiny_model_dir)
    assert again.soup_members == report["soup_members"] and again.wise_alpha == report["wise_alpha"]
    assert again.final_dev == pytest.approx(report["final_dev"], abs=1e-4)


def _saved_tiny_models(tmp_path, tokenizer, seeds, **kwargs):
    from helpers import make_tiny_model

    dirs = []
    for seed in seeds:
        path = tmp_path / f"m{seed}"
        make_tiny_model(tokenizer, seed=seed, **kwargs).save(path)
        dirs.append(path)
    return dirs


def test_soup_models_averages_the_models_that_help_on_dev(tmp_path, default_tokenizer):
    from textsiam.training.averaging import soup_models

    dirs = _saved_tiny_models(tmp_path, default_tokenizer, [0, 1, 2])
    states = [SiameseModel.from_pretrained(d, device="cpu").state_dict() for d in dirs]
    key = next(k for k, v in states[0].items() if v.is_floating_point() and v.ndim == 2)
    target = average_states(states[:2])[key]  # dev prefers the average of m0 and m1; m2 is far from it

    def metric(model):
        return -float((model.state_dict()[key] - target).norm())

    model, report = soup_models(dirs, metric)
    assert sorted(report.soup_members) == [str(dirs[0]), str(dirs[1])]
    assert report.final_dev == pytest.approx(0.0, abs=1e-4) and report.final_dev > report.best_checkpoint_dev
    assert torch.allclose(model.state_dict()[key], target, atol=1e-6)
    kept = {t["members"][0]: t["kept"] for t in report.trials if t["kind"] == "model"}
    assert kept == {str(dirs[0]): True, str(dirs[1]): True, str(dirs[2]): False}
    assert [t["kept"] for t in report.trials if t["kind"] == "soup"] == [True, False]


def test_soup_models_refuses_models_that_cannot_be_averaged(tmp_path, default_tokenizer):
    from textsiam.training.averaging import soup_models

    mean_dirs = _saved_tiny_models(tmp_path / "mean", default_tokenizer, [0])
    cls_dirs = _saved_tiny_models(tmp_path / "cls", default_tokenizer, [1], pooling="cls")
    with pytest.raises(ValueError, match="pooling"):
        soup_models(mean_dirs + cls_dirs, lambda m: 0.0)
    with pytest.raises(ValueError, match="at least two"):
        soup_models(mean_dirs, lambda m: 0.0)
    with pytest.raises(ValueError, match="twice"):
        soup_models(mean_dirs * 2, lambda m: 0.0)


def test_cli_soup_saves_the_soup_chosen_on_dev(tmp_path, default_tokenizer, data_dir, capsys):
    import json

    from textsiam.cli import main

    dirs = _saved_tiny_models(tmp_path, default_tokenizer, [0, 1])
    out = tmp_path / "soup"
    argv = ["soup", *map(str, dirs), "--dev-dataset", "sick", "--data-dir", data_dir, "-o", str(out), "-q"]
    assert main(argv) == 0
    report = json.loads((out / "soup.json").read_text())
    assert report["dev_dataset"] == "sick" and report["metric_name"] == "cosine_spearman"
    assert len(report["trials"]) == 3  # two models and one soup trial
    assert "dev cosine_spearman" in capsys.readouterr().out
    model = SiameseModel.from_pretrained(out, device="cpu")
    expected = make_dev_metric("sick", data_dir)(model)
    assert expected == pytest.approx(report["final_dev"], abs=1e-6)
    assert main(argv) == 2  # the output is not empty and there is no --overwrite
    assert main([*argv, "--overwrite", "--dev-split", "test"]) == 2  # a soup is never chosen on test
    assert "never on the test split" in capsys.readouterr().err
