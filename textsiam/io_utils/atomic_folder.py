"""Atomic folder writes (model saves): build beside the target, swap it in, keep every file textsiam did not write."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from textsiam.io_utils.atomic_file import fsync_dir
from textsiam.io_utils.leftovers import process_is_gone, temp_leftover_pid
from textsiam.io_utils.permissions import apply_folder_modes, current_mode

logger = logging.getLogger(__name__)

#: Names of what a model save writes (textsiam, ``transformers``, ``sentence-transformers``, ONNX export).
#: When a save replaces a folder, the old copies of these are dropped; any other entry of the old folder is kept,
#: pickled weights (``pytorch_model.bin``) included: textsiam never writes them.
MODEL_ARTIFACTS: frozenset[str] = frozenset(
    {
        # textsiam
        "textsiam.json",
        "projection.safetensors",
        "calibration.json",
        "soup.json",
        # transformers: config and weights
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "model.safetensors.index.json",
        # tokenizers
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "spiece.model",
        "sentencepiece.bpe.model",
        "chat_template.jinja",
        # ONNX
        "model.onnx",
        "model.onnx.data",
        # sentence-transformers
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    }
)
#: Name patterns of model files: weight shards and sentence-transformers module folders (``1_Pooling``, ...).
MODEL_ARTIFACT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^model-\d{5}-of-\d{5}\.safetensors$"),
    re.compile(r"^\d+_[A-Za-z]+$"),
)
#: A sentence-transformers module folder name (``1_Pooling``). A user's ``2024_results`` looks the same, so when
#: replacing a folder such a name is only claimed if the new save wrote it or the old ``modules.json`` lists it.
ST_MODULE_FOLDER = re.compile(r"^\d+_[A-Za-z]+$")
#: Weights whose presence next to ``config.json`` makes a folder a model (see :func:`is_model_dir`).
MODEL_WEIGHTS: tuple[str, ...] = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "model.onnx",
)


def is_model_artifact(name: str, written: Collection[str] = ()) -> bool:
    """Whether a folder entry called ``name`` is a model file a new save may replace.

    ``README.md`` (a model card, but perhaps the user's own notes) counts only when the new save wrote one,
    i.e. when it is in ``written``.
    """
    if name == "README.md":
        return name in written
    return name in MODEL_ARTIFACTS or any(p.match(name) for p in MODEL_ARTIFACT_PATTERNS)


def is_model_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding a saved model.

    True for a textsiam save (``textsiam.json``), a sentence-transformers save (``modules.json``), or a
    Hugging Face / ONNX save (``config.json`` together with a weights file, see :data:`MODEL_WEIGHTS`).
    """
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / "textsiam.json").is_file() or (p / "modules.json").is_file():
        return True
    return (p / "config.json").is_file() and any((p / w).is_file() for w in MODEL_WEIGHTS)


# ---------------------------------------------------------------------------------------------- folders
def _listed_modules(folder: Path | None) -> set[str]:
    """The module folders a sentence-transformers ``modules.json`` in ``folder`` lists (empty if none/unreadable)."""
    if folder is None:
        return set()
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        return {m["path"] for m in modules if isinstance(m, dict) and isinstance(m.get("path"), str)}
    except (OSError, ValueError, TypeError):
        return set()


def default_claims(old: Path | None, written: Collection[str], was_model: bool) -> Callable[[str], bool]:
    """Which entries of the replaced folder ``old`` a save may drop: the model files of a model folder
    (:func:`is_model_artifact`, module folders only when the new save wrote them or the old ``modules.json``
    lists them); nothing of a folder that held no model (``overwrite=True``): there only the names the save
    wrote are replaced."""
    if not was_model:
        return lambda name: False
    listed = _listed_modules(old)

    def claims(name: str) -> bool:
        if ST_MODULE_FOLDER.match(name):
            return name in written or name in listed
        return is_model_artifact(name, written)

    return claims


def _refuse_working_dir(target: Path) -> None:
    """A folder that is (or contains) the current working directory is never replaced."""
    if target.parent == target:
        raise ValueError(f"refusing to write over {target}: it is the root of the file system")
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the working directory was deleted: it cannot be inside target
        return
    if target == cwd or target in cwd.parents:
        raise ValueError(
            f"refusing to write over {target}: it is the current working directory or contains it; "
            "give the path of a new or model folder instead"
        )


def _check_dir_target(target: Path, overwrite: bool) -> None:
    """Whether a folder write may replace ``target``: absent, empty, a model folder, or ``overwrite``."""
    if not target.exists():
        return
    if not target.is_dir():
        raise ValueError(f"{target} exists and is not a directory")
    if overwrite or is_model_dir(target) or not any(target.iterdir()):
        return
    raise FileExistsError(
        f"{target} is a folder that holds other files but no model; pass overwrite=True (--overwrite on the "
        "command line) to save into it anyway (its files that are not model files are kept)"
    )


def _carry_over(old: Path, target: Path, written: Collection[str], replaces: Callable[[str], bool]) -> bool:
    """Move the entries of ``old`` that the new write did not write and does not replace into ``target``.

    Returns whether everything that had to move did (then ``old`` may be removed).
    """
    left: list[str] = []
    moved: list[str] = []
    for entry in sorted(old.iterdir()):
        name = entry.name
        if name in written or replaces(name):
            continue
        dest = target / name
        try:
            if os.path.lexists(dest):
                raise FileExistsError(errno.EEXIST, "exists in the new folder", str(dest))
            os.rename(entry, dest)
        except OSError as err:
            logger.warning("could not move %s into %s: %s", entry, target, err)
            left.append(name)
        else:
            moved.append(name)
    if moved:
        logger.info(
            "kept %d entr%s of %s that are not model files: %s",
            len(moved),
            "y" if len(moved) == 1 else "ies",
            target,
            ", ".join(moved),
        )
    if left:
        logger.warning(
            "%s keeps %s, which could not be moved into %s; move them yourself", old, ", ".join(left), target
        )
        return False
    return True


def new_temp_dir(target: Path, pid: int) -> Path:
    """Create an empty ``.NAME.tmp-PID-RANDOM`` folder beside ``target`` with the umask's permissions.

    ``os.mkdir(path, 0o777)`` lets the kernel apply the umask, as for any new folder. (``tempfile.mkdtemp`` makes a
    private 0o700 folder; reading the umask to widen it means setting it, which changes it for a moment for every
    thread of the process: a file another thread created then would get no umask at all.)
    """
    for _ in range(100):
        tmp = target.parent / f".{target.name}.tmp-{pid}-{secrets.token_hex(4)}"
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary folder beside {target}")


@contextlib.contextmanager
def atomic_dir(
    path: str | os.PathLike,
    fsync: bool = False,
    *,
    overwrite: bool = False,
    replaces: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``path``; it replaces ``path`` only if the block succeeds.

    ``path`` may be absent, an empty folder, or a model folder (:func:`is_model_dir`); any other folder is a
    ``FileExistsError`` unless ``overwrite`` (checked before the block and again before the swap). A folder
    that is the current working directory or contains it is refused (``ValueError``).

    Nothing the write did not produce is lost: entries of the old folder that the new one does not hold and
    that ``replaces`` does not claim (default :func:`default_claims`: the files of a model save) are moved
    into the new folder.

    Every file the block wrote gets the permissions the umask gives a new file (``0o666 & ~umask``), whatever
    mode its writer chose (:func:`~textsiam.io_utils.permissions.apply_folder_modes`).

    Crash safety: the old folder is renamed aside (``.NAME.old-PID-*``) before the new one (``.NAME.tmp-PID-*``)
    is renamed into place, then the kept entries move over and the old copy is removed. A crash leaves the old
    or the new folder complete, plus leftovers that the next call for the same ``path`` cleans up once their
    process is gone (:func:`remove_orphaned_copies`). ``fsync`` flushes every file before the swap.
    """
    claims_given = replaces
    target = Path(path).expanduser().resolve()
    _refuse_working_dir(target)
    _check_dir_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = new_temp_dir(target, pid)
    old: Path | None = None
    try:
        folder_mode = current_mode(tmp)  # 0o777 & ~umask: what the umask gives a new folder
        yield tmp
        apply_folder_modes(tmp, folder_mode)  # safetensors' save_file writes 0o600 files, for one
        if fsync:
            for p in tmp.rglob("*"):
                if p.is_file() and not p.is_symlink():
                    with open(p, "rb") as fh:
                        os.fsync(fh.fileno())
        written = {p.name for p in tmp.iterdir()}
        _refuse_working_dir(target)
        _check_dir_target(target, overwrite)  # the folder may have changed while the block ran
        was_model = is_model_dir(target)
        swapped = False
        if target.is_dir() and not any(target.iterdir()):
            try:
                os.rename(tmp, target)  # replaces the empty folder in one step
                swapped = True
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                _check_dir_target(target, overwrite)  # it filled in the meantime
        elif not target.exists():
            os.rename(tmp, target)
            swapped = True
        if not swapped:
            old = target.parent / f".{target.name}.old-{pid}-{uuid.uuid4().hex[:8]}"
            replaces = claims_given or default_claims(target, written, was_model)
            try:
                os.rename(target, old)
                os.rename(tmp, target)
            except BaseException:
                if not os.path.lexists(target) and old.is_dir():
                    os.rename(old, target)  # the new folder is not in place: put the old one back
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.is_dir() and target.is_dir():  # interrupted right after the swap
            if _carry_over(old, target, written, replaces):
                shutil.rmtree(old, ignore_errors=True)
        raise
    if fsync:
        fsync_dir(target.parent)
    if old is not None and _carry_over(old, target, written, replaces):
        shutil.rmtree(old, ignore_errors=True)
    remove_orphaned_copies(target, replaces=claims_given)


def remove_orphaned_copies(target: str | os.PathLike, replaces: Callable[[str], bool] | None = None) -> None:
    """Clean up the ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` folders left by :func:`atomic_dir` calls that died.

    Only folders whose PID names no running process on this machine are touched, so a concurrent writer that
    is still alive is never disturbed. A ``.tmp-`` folder holds only what an unfinished write produced and is
    deleted. A ``.old-`` folder may still hold files that were never the writer's (the interrupted write had
    not moved them over yet): every entry that ``replaces`` does not claim (default :func:`default_claims`)
    and that ``target`` does not hold is moved into ``target`` first; if ``target`` is missing or a move
    fails, the folder is kept (with a warning).
    """
    target = Path(target)
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for path in entries:
        pid = temp_leftover_pid(path.name, target.name)
        if pid is None or path.name.endswith(".tmp") or not path.is_dir() or path.is_symlink():
            continue
        if not process_is_gone(pid):
            continue
        if path.name.startswith(f".{target.name}.old-"):
            claims = replaces or default_claims(path, (), True)
            keep = [p for p in path.iterdir() if not claims(p.name) and not os.path.lexists(target / p.name)]
            if keep and not target.is_dir():
                logger.warning(
                    "keeping %s (left by an interrupted write): it holds %s and %s is missing; move them yourself",
                    path,
                    ", ".join(p.name for p in keep),
                    target,
                )
                continue
            if keep and not _carry_over(path, target, {p.name for p in target.iterdir()}, claims):
                continue
        logger.info("removing %s, left by an interrupted write (process %d is gone)", path, pid)
        shutil.rmtree(path, ignore_errors=True)
