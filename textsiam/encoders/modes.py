"""The lock that inference and mode switches (``train()`` / ``eval()``) share, so neither sees the other half-way.

Dropout (and anything else that reads ``module.training``) makes a forward pass depend on the mode of every module
it runs through. :func:`textsiam.model.scheduler.inference_context` holds :data:`MODE_LOCK` for a whole inference
call and runs it in eval mode; :meth:`Encoder.train <textsiam.encoders.Encoder.train>` and
:meth:`SiameseModel.train <textsiam.SiameseModel.train>` (which ``eval()`` calls too) take the same lock, so a
thread that switches modes waits for running inference to finish, and inference started afterwards sees the new
flags and runs in eval mode anyway. Concurrent inference calls are serialised by this lock already (one call uses
every core), so the guard costs them nothing.
"""

from __future__ import annotations

import threading

#: Held by every inference call and every ``train()`` / ``eval()`` of a model or encoder (re-entrant, process-wide).
MODE_LOCK = threading.RLock()

__all__ = ["MODE_LOCK"]
