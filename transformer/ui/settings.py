"""The Train page's settings as one flat dict: presets, the URL round trip, and validation.

Settings are plain values keyed by the names the configs use (``d_model``, ``lr``, ...), plus
``task``, ``arch`` and the task's own parameters (``length``, ``n_digits``, ...). Keeping them
flat means the same dict fills the widgets, goes into a shareable link
(``/train?task=reverse&arch=decoder&d_model=64&lr=0.003``) and comes back out of one.

Nothing here imports Streamlit, so the rules are tested without a page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config import ARCHS, POS_ENCODINGS, ModelConfig
from ..devices import DEVICE_CHOICES, resolve_device
from ..tasks import TASKS, get_task, is_image_task
from ..presets import preset_configs
from ..training import MAX_PATIENCE, MAX_TRAIN_SIZE, SCHEDULES, TrainConfig

MODEL_FIELDS = ("d_model", "n_heads", "n_layers", "d_ff", "dropout", "pos_encoding")
# The last three are the cures for memorising: weight decay, a training-set size, early stopping.
TRAIN_FIELDS = ("lr", "warmup", "batch_size", "steps", "seed", "schedule", "eval_every", "device",
                "weight_decay", "train_size", "early_stop")
# Always in a shared link, with the task's parameters (the rest only when they differ from the preset).
URL_ALWAYS = ("task", "arch", "d_model", "n_heads", "n_layers", "d_ff", "lr", "steps", "seed")

# Widget ranges; a link's value outside them is ignored with a sentence. They are wide on
# purpose: the configs' own validation explains what does not fit together.
INT_RANGES = {
    "d_model": (1, 1024),
    "n_heads": (1, 64),
    "n_layers": (1, 12),
    "d_ff": (1, 8192),
    "warmup": (0, 100_000),
    "batch_size": (1, 4096),
    "steps": (1, 100_000),
    "seed": (0, 2**31 - 1),
    "eval_every": (1, 100_000),
}
FLOAT_RANGES = {
    "dropout": (0.0, 0.9),
    "lr": (1e-6, 100.0),
    "weight_decay": (0.0, 0.9),
}
# Whole numbers that may also be off (None, an empty box, "off" in a link): a training set of N
# fixed examples (off: fresh examples at every step) and early stopping's patience in
# evaluations (off: train all the steps). Their bounds are the trainer's.
OPTIONAL_RANGES = {
    "train_size": (1, MAX_TRAIN_SIZE),
    "early_stop": (1, MAX_PATIENCE),
}
OFF = "off"  # how an optional setting that is off reads in a link
CHOICES = {
    "pos_encoding": POS_ENCODINGS,
    "schedule": SCHEDULES,
    "device": DEVICE_CHOICES,
}


# Every parameter a Train link may carry (the page leaves other parameters in the URL alone).
LINK_NAMES = ("task", "arch", *MODEL_FIELDS, *TRAIN_FIELDS,
              *sorted({name for task in TASKS.values() for name in task.params}))


def task_param_ranges(task_name: str) -> dict[str, tuple[int, int]]:
    return dict(TASKS[task_name].param_ranges)


def preset_settings(task_name: str, arch: str | None = None, task_params: dict | None = None) -> dict:
    """The settings a task's preset gives for `arch` (default: the task's recommended one)."""
    task = get_task(task_name, **(task_params or {}))
    model_cfg, train_cfg = preset_configs(task, arch)
    settings = {"task": task_name, "arch": model_cfg.arch, **task.params}
    settings.update({k: getattr(model_cfg, k) for k in MODEL_FIELDS})
    settings.update({k: getattr(train_cfg, k) for k in TRAIN_FIELDS})
    return settings


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _parse(name: str, raw: str, task_name: str):
    """One link value -> a setting, or ValueError with the sentence to show."""
    raw = str(raw).strip()
    ranges = {**INT_RANGES, **task_param_ranges(task_name)}
    if name in OPTIONAL_RANGES:
        if raw.lower() in (OFF, "none", ""):
            return None
        lo, hi = OPTIONAL_RANGES[name]
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not value.is_integer() or not lo <= value <= hi:
            raise ValueError(f"{name} must be {OFF} or a whole number from {lo:,} to {hi:,} (the link has {raw})")
        return int(value)
    if name in ranges:
        lo, hi = ranges[name]
        value = _number(name, raw)
        if not value.is_integer() or not lo <= value <= hi:
            raise ValueError(f"{name} must be a whole number from {lo} to {hi} (the link has {raw})")
        return int(value)
    if name in FLOAT_RANGES:
        lo, hi = FLOAT_RANGES[name]
        value = _number(name, raw)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError(f"{name} must be between {lo:g} and {hi:g} (the link has {raw})")
        return value
    if name in CHOICES:
        if raw not in CHOICES[name]:
            raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])} (the link has {raw!r})")
        return raw
    raise ValueError(f"the link's '{name}' is not a setting of this page")


def settings_from_query(query: dict, default_task: str = "reverse") -> tuple[dict, list[str]]:
    """Settings from a link's query parameters: the preset of its task and arch, then its values.

    Returns (settings, notes): notes are sentences about values that were ignored.
    """
    notes = []
    task_name = query.get("task", default_task)
    if task_name not in TASKS:
        notes.append(f"The link's task '{task_name}' does not exist, so '{default_task}' is shown.")
        task_name = default_task
    elif is_image_task(task_name):
        notes.append(f"The link's task '{task_name}' is made of pictures, which train on the Vision transformer "
                     f"page, so '{default_task}' is shown.")
        task_name = default_task
    task_cls = TASKS[task_name]
    params = {}
    for name in task_cls.params:
        if name in query:
            try:
                params[name] = _parse(name, query[name], task_name)
            except ValueError as err:
                notes.append(f"Ignored the link's {name}: {err}.")
    try:
        get_task(task_name, **params)
    except ValueError as err:
        notes.append(f"Ignored the link's task parameters: {err}")
        params = {}
    arch = query.get("arch")
    if arch is not None and arch not in task_cls.archs:
        notes.append(f"The task '{task_name}' cannot use the architecture '{arch}', so its recommended one is shown.")
        arch = None
    settings = preset_settings(task_name, arch, params)
    for name in MODEL_FIELDS + TRAIN_FIELDS:
        if name in query:
            try:
                settings[name] = _parse(name, query[name], task_name)
            except ValueError as err:
                notes.append(f"Ignored the link's {name}: {err}.")
    return settings, notes


def _url_value(value) -> str:
    if value is None:
        return OFF
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_to_query(settings: dict) -> dict[str, str]:
    """The query parameters of a link that reopens these settings (preset values left out)."""
    try:
        preset = preset_settings(settings["task"], settings["arch"], task_params_of(settings))
    except ValueError:
        preset = {}
    always = set(URL_ALWAYS) | set(TASKS[settings["task"]].params)  # the task's own parameters define it
    query = {}
    for name, value in settings.items():
        if name in always or preset.get(name) != value:
            query[name] = _url_value(value)
    return query


def task_params_of(settings: dict) -> dict:
    return {name: settings[name] for name in TASKS[settings["task"]].params if name in settings}


@dataclass
class Built:
    """The configs a set of settings makes, or the sentence that says why not, per section."""

    task: object = None
    model_cfg: ModelConfig | None = None
    train_cfg: TrainConfig | None = None
    errors: dict = field(default_factory=dict)  # "task" | "model" | "train" -> sentence

    @property
    def ok(self) -> bool:
        return not self.errors


def build(settings: dict, text: str | None = None) -> Built:
    """Validate settings into (task, ModelConfig, TrainConfig); errors name the fix.

    `text` is a person's own text for the character model (None: its built-in text); other
    tasks ignore it. Its limits (length, alphabet) are checked here, before anything runs.
    """
    out = Built()
    extra = {"text": text} if text is not None and settings["task"] == "charlm" else {}
    try:
        out.task = get_task(settings["task"], **task_params_of(settings), **extra)
    except ValueError as err:
        out.errors["task"] = str(err)
        return out
    try:
        model_values = {k: settings[k] for k in MODEL_FIELDS if k in settings}
        out.model_cfg = out.task.model_config(settings["arch"], **model_values)
    except ValueError as err:
        out.errors["model"] = str(err)
    try:
        out.train_cfg = TrainConfig(**{k: settings[k] for k in TRAIN_FIELDS if k in settings}).validate()
        resolve_device(out.train_cfg.device)  # "cuda" on a machine without one says so here
    except ValueError as err:
        out.errors["train"] = str(err)
    if out.ok:
        # The memory budget: the sentence goes beside the knob it names, and Train stays off.
        try:
            out.train_cfg.validate(out.model_cfg)
        except ValueError as err:
            knob = getattr(err, "knob", None)
            out.errors["train" if knob in ("batch_size", "eval_size") else "model"] = str(err)
    return out


__all__ = [
    "ARCHS", "LINK_NAMES", "MODEL_FIELDS", "TRAIN_FIELDS", "INT_RANGES", "FLOAT_RANGES", "OPTIONAL_RANGES", "OFF",
    "CHOICES", "Built", "build",
    "preset_settings", "settings_from_query", "settings_to_query", "task_params_of",
]
