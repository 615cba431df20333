"""What a save writes into its (temporary) folder: the tower, the projection, the calibrator, ``textsiam.json``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from textsiam.model.calibrator import CALIBRATION_NAME
from textsiam.model.config import CONFIG_NAME, PROJECTION_NAME
from textsiam.model.st_layout import STLayoutError, st_layout_problem, write_st_layout
from textsiam.version import package_versions


def write_model(model: Any, directory: Path, st_layout: bool | None = None) -> None:
    """Write every file of ``model`` into the existing, empty ``directory``; ``textsiam.json`` comes last, so its
    presence marks a complete save.

    Args:
        st_layout: also write sentence-transformers' layout (``modules.json`` and the module folders) so that
            ``SentenceTransformer(directory)`` rebuilds the same model: ``None`` (default) when the tower allows it,
            ``True`` to require it (:class:`~textsiam.model.st_layout.STLayoutError` for an LSTM / CNN / ONNX
            tower, before anything is written), ``False`` never.
    """
    if st_layout is not None and not isinstance(st_layout, bool):
        raise TypeError(f"st_layout must be True, False or None, got {st_layout!r}")
    problem = st_layout_problem(model)
    if st_layout and problem:
        raise STLayoutError(f"cannot write a sentence-transformers layout: {problem}")
    model.encoder.save(directory)
    if st_layout is not False and problem is None:
        write_st_layout(model, directory, package_versions(("torch", "transformers", "textsiam")))
    if model.projection is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in model.projection.state_dict().items()}
        save_file(state, str(directory / PROJECTION_NAME))
    if model.calibrator is not None and model.calibrator.is_fitted:
        model.calibrator.save(directory / CALIBRATION_NAME)
    (directory / CONFIG_NAME).write_text(json.dumps(asdict(model.config), indent=2) + "\n", encoding="utf-8")
