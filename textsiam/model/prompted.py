"""A model seen through a prompt: :func:`with_prompt` puts a fixed prefix before every text that ``encode`` gets.

Evaluation code calls ``model.encode(texts, batch_size=..., ...)`` and knows nothing of prompts; a task trained
with a prompt is evaluated through this view, so its dev metric and test scores see the texts as training did.
"""

from __future__ import annotations

from typing import Any


class PromptedModel:
    """``model`` whose :meth:`encode` uses ``prompt`` unless the call names a prompt itself; every other attribute
    is the model's.

    Args:
        model: anything with ``encode(texts, ..., prompt=...)`` (a :class:`~textsiam.SiameseModel`, or
            sentence-transformers' ``SentenceTransformer``).
        prompt: the prefix.
    """

    def __init__(self, model: Any, prompt: str) -> None:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        self.model = model
        self.prompt = prompt

    def encode(self, texts: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("prompt") is None and kwargs.get("prompt_name") is None:
            kwargs["prompt"] = self.prompt
        return self.model.encode(texts, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in ("model", "prompt"):  # not set yet (e.g. while unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"PromptedModel({self.model!r}, prompt={self.prompt!r})"


def with_prompt(model: Any, prompt: str | None) -> Any:
    """``model`` itself without a prompt (``None`` or ``""``), else a :class:`PromptedModel` view of it."""
    return PromptedModel(model, prompt) if prompt else model
