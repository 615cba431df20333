"""The run folder's restart rule with the teacher pipeline (#26): a run killed while it trained its teacher or
labelled silver pairs leaves ``teachers/`` and ``silver/``; that is still the start of an unfinished run, which starts
again without ``--overwrite``, but only while those folders hold nothing that textsiam did not write."""

from __future__ import annotations

import logging

import pytest

from textsiam.training.run_folder import is_pipeline_folder, prepare_output_dir, unfinished_run


def _killed_while_labelling(out):
    """What a run killed while labelling silver pairs leaves: a trained teacher's folder and part of the silver set."""
    (out / "teachers" / "0" / "model").mkdir(parents=True)
    (out / "teachers" / "0" / "teacher.json").write_text("{}\n", encoding="utf-8")
    (out / "silver" / "scores" / "0123abcd").mkdir(parents=True)
    (out / "silver" / "scores" / "0123abcd" / "chunk-000000.json").write_text("{}\n", encoding="utf-8")
    (out / "silver" / "candidates.jsonl").write_text("{}\n", encoding="utf-8")
    (out / "silver" / ".silver.json.4242.ab12.tmp").write_text("", encoding="utf-8")  # a killed atomic write
    return out


def test_a_run_killed_in_its_teacher_pipeline_is_unfinished_and_starts_again(tmp_path, caplog):
    out = _killed_while_labelling(tmp_path / "run")
    (out / "train_config.yaml").write_text("epochs: 1\n", encoding="utf-8")
    assert is_pipeline_folder(out / "silver") and is_pipeline_folder(out / "teachers")
    assert unfinished_run(out)
    with caplog.at_level(logging.WARNING, logger="textsiam.training.run_folder"):
        assert prepare_output_dir(out, resume=False, overwrite=False) is None  # no FileExistsError
    assert "starting over (reusing what fits in silver/, teachers/)" in caplog.text
    assert (out / "silver" / "candidates.jsonl").is_file() and (out / "teachers" / "0" / "teacher.json").is_file()
    assert not (out / "train_config.yaml").exists()  # the run's own start goes
    with pytest.raises(FileNotFoundError, match="stopped before its first checkpoint; start it again without --resume"):
        prepare_output_dir(out, resume=True, overwrite=False)


@pytest.mark.parametrize(
    "foreign",
    ["silver/notes.txt", "teachers/notes.txt", "teachers/best", "notes.txt"],
)
def test_a_pipeline_folder_with_files_textsiam_did_not_write_needs_overwrite(tmp_path, foreign):
    out = _killed_while_labelling(tmp_path / "run")
    path = out / foreign
    if path.name == "best":
        path.mkdir()
    else:
        path.write_text("mine\n", encoding="utf-8")
    assert not unfinished_run(out)
    with pytest.raises(FileExistsError, match="already exists and is not empty"):
        prepare_output_dir(out, resume=False, overwrite=False)
    assert path.exists()


def test_only_the_pipeline_folders_count(tmp_path):
    (tmp_path / "silver").write_text("a file, not the folder\n", encoding="utf-8")
    (tmp_path / "scores").mkdir()
    assert not is_pipeline_folder(tmp_path / "silver") and not is_pipeline_folder(tmp_path / "scores")
