"""The teaching tasks: vocabularies, seeded example generators, batching, presets.

    from transformer.tasks import get_task, make_batch
    task = get_task("reverse", length=8)
    batch = make_batch(task, task.examples(64, seed=0), layout="lm")

Every task is generated in code from a seeded `random.Random`; nothing is downloaded.
`TASKS` maps each name to its class in teaching order; the class attributes (`title`,
`description`, `teaches`, `params`, `archs`) can be read without building a task.
"""
from __future__ import annotations

from typing import Any

from .algorithmic import Addition, Copy, Induction, Recall, Reverse, Sort
from .base import MAX_INPUT_CHARS, Example, Preset, Task, check_input_text
from .batching import IGNORE_INDEX, Batch, make_batch
from .charlm import CharLM
from .dates import Dates
from .formal import Brackets, Parity
from .images import Shapes
from .sentiment import Sentiment
from .vocab import SPECIALS, Vocab

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (Copy, Reverse, Sort, Addition, Dates, Induction, Recall, Brackets, Parity, Sentiment, CharLM, Shapes)
}


def list_tasks() -> list[str]:
    """Task names in teaching order."""
    return list(TASKS)


def is_image_task(name: str) -> bool:
    """Whether the task is made of pictures (trained by vit/cnn, shown on the Vision page)."""
    from ..config import IMAGE_ARCHS

    return name in TASKS and all(arch in IMAGE_ARCHS for arch in TASKS[name].archs)


def text_tasks() -> list[str]:
    """The tasks whose inputs are tokens, in teaching order: what pages that show tokens list."""
    return [name for name in TASKS if not is_image_task(name)]


def get_task(name: str, **params: Any) -> Task:
    """Build a task by name. Parameters not given take the defaults in `TASKS[name].params`
    (the character LM also takes `text=`). Raises ValueError for an unknown name or a bad value."""
    if name not in TASKS:
        raise ValueError(f"Unknown task '{name}': choose one of {', '.join(TASKS)}.")
    return TASKS[name](**params)


def task_from_dict(data: dict) -> Task:
    """Rebuild a task from `task.to_dict()` (as stored in a checkpoint)."""
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError("This is not a task description: expected a dict with a 'name'.")
    extra = {"text": data["text"]} if "text" in data else {}
    return get_task(data["name"], **dict(data.get("params", {})), **extra)


__all__ = [
    "TASKS", "IGNORE_INDEX", "MAX_INPUT_CHARS", "SPECIALS", "Example", "Preset", "Task", "Vocab", "check_input_text",
    "Batch", "get_task", "is_image_task", "list_tasks", "text_tasks", "make_batch", "task_from_dict",
]
