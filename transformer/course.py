"""Load lesson files (TOML) and validate them into frozen dataclasses.

A lesson is data, not code, so a teacher can edit one without touching Python. The price is that
a typo must be caught by a test, not by a student in front of a class: `load_lesson` checks every
field and raises `LessonError` whose message names the file and the field
(`lessons/03_attention.toml: steps[2].question.answer: ...`). It reports every problem in the
file at once, so an author fixes them in one pass.

File layout (one lesson per file, named `NN_some_id.toml`; NN gives the order, the rest the id
used in links)::

    title = "Attention"
    summary = "One sentence for the lesson picker."
    minutes = 15
    goals = ["...", "..."]

    [[steps]]
    title = "..."
    body = '''Markdown, may contain $inline$ and $$display$$ math.'''
    latex = ['\\mathrm{softmax}(x)_i = ...']      # optional: formulas typeset on their own
    try_this = "..."                              # optional: a prompt to play with the widget
    [steps.widget]                                # optional: one live part of the app
    name = "attention_heatmap"
    params = { task = "reverse" }
    [steps.question]                              # optional: a check of understanding
    kind = "choice"                               # or "predict": the widget stays hidden until
    prompt = "..."                                #   the student commits to a prediction
    options = ["...", "..."]
    answer = "..."                                # the text of the right option
    explanation = "..."                           # shown after answering, right or wrong

A *number* question asks for a value read off the live part the learner just ran; the answer is
the value the widget reports (`WIDGET_REPORTS`), not a number written in the file::

    [steps.question]
    kind = "number"
    prompt = "Read off the LSTM's final accuracy (in %)."
    value = "lstm_acc_pct"                        # a name the step's widget reports
    tolerance = 3.0                               # accepted distance from the run's value
    explanation = "The race ended at {{run.lstm_acc_pct:.0f}} %."

Numbers quoted from a run are never typed into a lesson: an explanation or a try_this writes
`{{run.NAME}}` or `{{run.NAME:FORMAT}}` (a Python format spec), and the renderer fills it with
the value the step's widget reported for the run on screen. The loader refuses a name the
widget does not report, so a quoted number cannot drift away from the run it describes.

Options are shown in an order fixed by the lesson id and the step (`display_order`), the same
for the whole class, with the right answers spread over the positions; the file may list the
right answer anywhere.

Use literal strings ('''...''') for text with LaTeX so backslashes stay backslashes.
Every lesson needs at least one "predict" and one "choice" question.
"""
from __future__ import annotations

import random
import re
import tomllib
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

# The lesson files live in the project's top-level lessons/ folder, beside this package. A wheel
# ships them there too (pyproject.toml's package-data for the data-only `lessons` folder puts
# them in site-packages/lessons/, next to site-packages/transformer/), so one relative path serves
# a checkout, an editable install and a wheel.
LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
FILE_PATTERN = re.compile(r"^(\d{2})_([a-z0-9_]+)\.toml$")
QUESTION_KINDS = ("choice", "predict", "number")
# `{{run.NAME}}` or `{{run.NAME:FORMAT}}`: a number the step's widget reported for its run.
PLACEHOLDER = re.compile(r"\{\{run\.([a-z0-9_]+)(?::([^}]*))?\}\}")

# The live parts a lesson may embed, with the parameters each accepts and their types.
# `transformer.ui.lesson_widgets.WIDGETS` maps the same names to code (a test keeps them equal).
# Kept here, free of streamlit, so validating a lesson needs nothing but the standard library.
WIDGET_SPECS: Mapping[str, Mapping[str, type | tuple[type, ...]]] = MappingProxyType({
    "embedding_space": {"task": str, "arch": str, "dims": int},
    "rnn_unroll": {"cell": str, "length": int},
    "race": {"preset": str, "task": str, "length": int, "archs": list, "steps": int},
    "vanishing_gradients": {"length": int},
    "step_time": {"max_len": int},
    "attention_by_hand": {"scaled": bool},
    "softmax_scaling": {"d_k": int},
    "attention_heatmap": {"task": str, "arch": str, "layer": int, "head": int},
    "head_grid": {"task": str, "arch": str},
    "order_lost": {"sentence": str},
    "positional_curves": {"d_model": int, "positions": int},
    "positional_similarity": {"d_model": int, "positions": int},
    "rotary": {"d_head": int},
    "block_diagram": {"norm": str, "arch": str, "counts": bool},
    "causal_mask": {"length": int},
    "date_cross_attention": {"layer": int},
    "training_curves": {"task": str, "arch": str, "demo": str},
    "lr_schedule": {"warmup": int, "steps": int, "schedule": str},
    "quadratic_cost": {"max_len": int},
    "image_patches": {"patch": int},
    "train_preset": {"task": str, "arch": str},
    "output_layer": {"task": str, "arch": str, "prompt": str},
    "overfitting_experiment": {},
    "data_appetite": {},
    "transfer_experiment": {},
    "vision_race": {"steps": int, "train_size": int, "view": str},
})

# The numbers each live part reports about what it shows, by name (`WidgetContext.report`):
# a lesson quotes them as `{{run.NAME}}` and a "number" question checks an answer against one.
# A widget not listed reports nothing. A test draws every listed widget and checks it reports
# exactly these names, so the two cannot drift apart.
WIDGET_REPORTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "embedding_space": ("start_norm", "mean_change", "cos_good_great", "cos_good_bad"),
    "vanishing_gradients": ("rnn_decades", "lstm_decades"),
    "step_time": ("transformer_ms", "lstm_ms", "transformer_mb", "lstm_mb", "max_len"),
    "race": ("steps", "transformer_acc_pct", "lstm_acc_pct", "rnn_acc_pct", "gru_acc_pct"),
    "attention_by_hand": ("weight_cat_pct",),
    "attention_heatmap": ("antidiagonal_pct",),
    "order_lost": ("max_difference",),
    "training_curves": ("steps", "warmup", "first_loss", "loss_at_warmup", "final_loss",
                        "final_seq_acc_pct", "final_token_acc_pct", "rise_step", "n_evals",
                        "vocab_size", "ln_vocab"),
    "lr_schedule": ("lr_step10", "lr_last"),
    "quadratic_cost": ("memory_ratio", "time_ratio"),
    "image_patches": ("tokens",),
    "train_preset": ("steps", "seq_acc_pct", "parameters"),
    "output_layer": ("p_true_pct", "loss", "ln_vocab", "vocab_size", "entropy_bits", "d_model"),
    "overfitting_experiment": ("base_train_pct", "base_val_pct", "dropout_val_pct", "decay_val_pct",
                               "early_val_pct", "more_val_pct"),
    "data_appetite": ("transformer_small_pct", "transformer_large_pct", "lstm_small_pct", "lstm_large_pct",
                      "small_size", "large_size"),
    "transfer_experiment": ("finetuned_pct", "scratch_pct", "difference_pts", "labelled"),
    "vision_race": ("steps", "vit_acc_pct", "cnn_acc_pct", "cos_6_7", "neighbour_cos", "far_cos"),
})


class LessonError(ValueError):
    """A lesson file is broken. `problems` lists every (field, message) found in `path`."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = Path(path)
        self.problems = list(problems)
        self.field = problems[0][0] if problems else ""
        lines = [f"{_display(self.path)}: {fld}: {msg}" if fld else f"{_display(self.path)}: {msg}"
                 for fld, msg in self.problems]
        super().__init__("\n".join(lines))


def _display(path: Path) -> str:
    """Show lesson paths relative to the project so messages read `lessons/03_attention.toml`."""
    try:
        return str(path.resolve().relative_to(LESSONS_DIR.parent))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Widget:
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    kind: str                      # "choice" | "predict" | "number"
    prompt: str
    options: tuple[str, ...]       # as written in the file (empty for "number")
    answer: str                    # the text of the right option ("" for "number")
    explanation: str               # may hold {{run.NAME}} placeholders
    order: tuple[int, ...] = ()    # display position -> index into `options` (see display_order)
    value: str | None = None       # "number": the reported value that is the answer
    tolerance: float = 0.0         # "number": accepted |answer - value|

    @property
    def answer_index(self) -> int:
        return self.options.index(self.answer)

    @property
    def shown_options(self) -> tuple[str, ...]:
        """The options in the order the learner sees them."""
        return tuple(self.options[i] for i in self.order) if self.order else self.options


@dataclass(frozen=True)
class Step:
    title: str
    body: str
    latex: tuple[str, ...] = ()
    widget: Widget | None = None
    try_this: str | None = None
    question: Question | None = None


@dataclass(frozen=True)
class Lesson:
    id: str                        # from the file name, used in links (?lesson=attention)
    number: int                    # from the file name, gives the order
    title: str
    summary: str
    minutes: int
    goals: tuple[str, ...]
    steps: tuple[Step, ...]
    path: Path

    @property
    def questions(self) -> list[tuple[int, Question]]:
        """(step index, question) for every step that asks one."""
        return [(i, s.question) for i, s in enumerate(self.steps) if s.question is not None]


class _Checker:
    """Collects (field, message) problems while reading one file's dict."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def unknown_keys(self, table: Mapping, allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                prefix = f"{where}." if where else ""
                self.fail(f"{prefix}{key}", f"unknown field; allowed fields are {', '.join(sorted(allowed))}.")

    def text(self, table: Mapping, key: str, where: str, required: bool = True) -> str | None:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.fail(path, "is missing; add it as a non-empty string.")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a non-empty string (got {value!r}).")
            return None
        return value.strip()

    def text_list(self, table: Mapping, key: str, where: str, required: bool = True,
                  min_len: int = 1) -> tuple[str, ...]:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.fail(path, f"is missing; add a list of at least {min_len} string(s).")
            return ()
        value = table[key]
        if isinstance(value, str):      # one formula may be written without brackets
            value = [value]
        if not isinstance(value, list) or len(value) < min_len:
            self.fail(path, f"must be a list of at least {min_len} string(s) (got {value!r}).")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{path}[{i}]", f"must be a non-empty string (got {item!r}).")
            else:
                out.append(item.strip())
        return tuple(out)


def _read_widget(raw: Any, where: str, chk: _Checker) -> Widget | None:
    if not isinstance(raw, dict):
        chk.fail(where, "must be a table with a 'name' (and optional 'params').")
        return None
    chk.unknown_keys(raw, {"name", "params"}, where)
    name = chk.text(raw, "name", where)
    if name is None:
        return None
    if name not in WIDGET_SPECS:
        chk.fail(f"{where}.name", f"unknown widget '{name}'; choose one of {', '.join(sorted(WIDGET_SPECS))}.")
        return None
    params = raw.get("params", {})
    if not isinstance(params, dict):
        chk.fail(f"{where}.params", "must be a table such as { task = \"reverse\" }.")
        return None
    spec = WIDGET_SPECS[name]
    for key, value in params.items():
        if key not in spec:
            allowed = ", ".join(sorted(spec)) or "none"
            chk.fail(f"{where}.params.{key}", f"widget '{name}' takes no parameter '{key}' (allowed: {allowed}).")
        elif isinstance(value, bool) and spec[key] is int or not isinstance(value, spec[key]):
            # bool is an int in Python; a widget that wants a number must not get `true`
            want = spec[key].__name__ if isinstance(spec[key], type) else "value"
            chk.fail(f"{where}.params.{key}", f"must be of type {want} (got {value!r}).")
    return Widget(name=name, params=MappingProxyType(dict(params)))


def _read_question(raw: Any, where: str, chk: _Checker) -> Question | None:
    if not isinstance(raw, dict):
        chk.fail(where, "must be a table with kind, prompt, options, answer and explanation.")
        return None
    kind = raw.get("kind")
    if kind == "number":
        chk.unknown_keys(raw, {"kind", "prompt", "value", "tolerance", "explanation"}, where)
        prompt = chk.text(raw, "prompt", where)
        value = chk.text(raw, "value", where)
        explanation = chk.text(raw, "explanation", where)
        tolerance = raw.get("tolerance")
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance <= 0:
            chk.fail(f"{where}.tolerance", f"must be a positive number: how far from the run's value an "
                                           f"answer may be and still count (got {tolerance!r}).")
            return None
        if None in (prompt, value, explanation):
            return None
        return Question(kind="number", prompt=prompt, options=(), answer="", explanation=explanation,
                        value=value, tolerance=float(tolerance))
    chk.unknown_keys(raw, {"kind", "prompt", "options", "answer", "explanation"}, where)
    kind = chk.text(raw, "kind", where)
    if kind is not None and kind not in QUESTION_KINDS:
        chk.fail(f"{where}.kind", f"must be one of {', '.join(QUESTION_KINDS)} (got {kind!r}).")
        kind = None
    prompt = chk.text(raw, "prompt", where)
    options = chk.text_list(raw, "options", where, min_len=2)
    if len(set(options)) != len(options):
        chk.fail(f"{where}.options", "has the same option twice; every option must be different.")
    answer = chk.text(raw, "answer", where)
    if answer is not None and options and answer not in options:
        chk.fail(f"{where}.answer", f"{answer!r} is not one of the options; copy the right option's text exactly.")
    explanation = chk.text(raw, "explanation", where)
    if None in (kind, prompt, answer, explanation) or not options or answer not in options:
        return None
    return Question(kind=kind, prompt=prompt, options=options, answer=answer, explanation=explanation)


def _check_run_values(step: Step, where: str, chk: _Checker) -> None:
    """Every {{run.NAME}} and every number question's value must be one the step's widget reports."""
    reported = WIDGET_REPORTS.get(step.widget.name, ()) if step.widget is not None else ()
    texts = {"try_this": step.try_this or ""}
    if step.question is not None:
        texts["question.explanation"] = step.question.explanation
    wanted = [(f"{where}.{fld}", m.group(1)) for fld, text in texts.items() for m in PLACEHOLDER.finditer(text)]
    for fld in ("body", "question.prompt"):
        text = step.body if fld == "body" else (step.question.prompt if step.question else "")
        if PLACEHOLDER.search(text):
            chk.fail(f"{where}.{fld}", "is shown before the live part runs, so it cannot quote {{run.…}}; "
                                       "quote the run in the explanation or the try_this.")
    if step.question is not None and step.question.kind == "number":
        wanted.append((f"{where}.question.value", step.question.value))
    for fld, name in wanted:
        if name not in reported:
            widget = step.widget.name if step.widget is not None else "no widget"
            chk.fail(fld, f"quotes the run's '{name}', but this step's live part ({widget}) reports "
                          f"{', '.join(reported) or 'no numbers'}.")


def _read_step(raw: Any, where: str, chk: _Checker) -> Step | None:
    if not isinstance(raw, dict):
        chk.fail(where, "must be a table ([[steps]]).")
        return None
    chk.unknown_keys(raw, {"title", "body", "latex", "widget", "try_this", "question"}, where)
    title = chk.text(raw, "title", where)
    body = chk.text(raw, "body", where)
    latex = chk.text_list(raw, "latex", where, required=False)
    try_this = chk.text(raw, "try_this", where, required=False)
    widget = _read_widget(raw["widget"], f"{where}.widget", chk) if "widget" in raw else None
    question = _read_question(raw["question"], f"{where}.question", chk) if "question" in raw else None
    if question is not None and question.kind in ("predict", "number") and widget is None:
        chk.fail(f"{where}.question", f"a '{question.kind}' question needs a widget on its step "
                                      f"({'to reveal' if question.kind == 'predict' else 'to read the number off'}).")
    if title is None or body is None:
        return None
    step = Step(title=title, body=body, latex=latex, widget=widget, try_this=try_this, question=question)
    _check_run_values(step, where, chk)
    return step


def load_lesson(path: Path | str) -> Lesson:
    """Read and validate one lesson file; raise LessonError naming the file and the field."""
    path = Path(path)
    match = FILE_PATTERN.match(path.name)
    if not match:
        raise LessonError(path, [("", "file name must look like '03_attention.toml' "
                                      "(two digits, underscore, lower-case id).")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise LessonError(path, [("", f"is not valid TOML: {err}.")]) from None
    except OSError as err:
        raise LessonError(path, [("", f"cannot be read: {err.strerror}.")]) from None

    chk = _Checker()
    chk.unknown_keys(data, {"title", "summary", "minutes", "goals", "steps"}, "")
    title = chk.text(data, "title", "")
    summary = chk.text(data, "summary", "")
    goals = chk.text_list(data, "goals", "")
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        chk.fail("minutes", f"must be a whole number of minutes, at least 1 (got {minutes!r}).")
    raw_steps = data.get("steps")
    steps: list[Step] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        chk.fail("steps", "is missing or empty; add at least one [[steps]] table.")
    else:
        for i, raw in enumerate(raw_steps):
            step = _read_step(raw, f"steps[{i}]", chk)
            if step is not None:
                steps.append(step)
        kinds = {s.question.kind for s in steps if s.question is not None}
        if "predict" not in kinds:
            chk.fail("steps", "needs at least one question of kind 'predict' (predict, then reveal).")
        if "choice" not in kinds:
            chk.fail("steps", "needs at least one question of kind 'choice' (a check of understanding).")
    if chk.problems:
        raise LessonError(path, chk.problems)
    steps = display_order(match.group(2), steps)
    return Lesson(id=match.group(2), number=int(match.group(1)), title=title, summary=summary,
                  minutes=minutes, goals=goals, steps=tuple(steps), path=path)


def _seed(*parts: Any) -> int:
    """A seed from text that is the same in every process (Python's hash() is salted per run)."""
    return zlib.crc32(":".join(map(str, parts)).encode())


def display_order(lesson_id: str, steps: list[Step]) -> list[Step]:
    """`steps` with each option question's display `order` set, the same for everyone.

    Where the right answer goes is drawn like tiles from a bag: the positions 0..2 shuffled
    (seeded by the lesson id), used up, refilled. So in every run of three questions the right
    answer takes each of the first three places once, in an order no student can predict, and
    no lesson has it first in more than about a third of its questions; a fourth option gets it
    one time in four. The wrong options are shuffled by a seed of the lesson id and the step,
    so adding a step elsewhere does not reorder them.
    """
    bag_rng, bag = random.Random(_seed(lesson_id, "answers")), []
    out = []
    for i, step in enumerate(steps):
        q = step.question
        if q is None or q.kind == "number":
            out.append(step)
            continue
        n = len(q.options)
        if not bag:
            bag = [0, 1, 2]
            bag_rng.shuffle(bag)
        position = bag.pop()
        if n > 3 and bag_rng.random() < (n - 3) / n:
            position = bag_rng.randrange(3, n)
        position %= n
        wrong = [j for j in range(n) if j != q.answer_index]
        random.Random(_seed(lesson_id, i, "options")).shuffle(wrong)
        order = tuple(wrong[:position] + [q.answer_index] + wrong[position:])
        out.append(replace(step, question=replace(q, order=order)))
    return out


def fill_run_values(text: str, values: Mapping[str, float], missing: str = "…") -> str:
    """`text` with each {{run.NAME[:FORMAT]}} replaced by the reported value (formatted), or by
    `missing` where the live part has not reported it yet."""
    def one(m: re.Match) -> str:
        name, fmt = m.group(1), m.group(2) or "g"
        if name not in values or values[name] is None:
            return missing
        try:
            return format(values[name], fmt)
        except (TypeError, ValueError):
            return str(values[name])
    return PLACEHOLDER.sub(one, text)


def lesson_files(directory: Path | str = LESSONS_DIR) -> list[Path]:
    """Every lesson file in `directory`, in course order."""
    return sorted(Path(directory).glob("[0-9][0-9]_*.toml"))


def load_all(directory: Path | str = LESSONS_DIR) -> list[Lesson]:
    """Load every lesson in course order. Raise LessonError for the first broken file, and a
    LessonError if two files share a number or an id (links would become ambiguous)."""
    lessons = [load_lesson(p) for p in lesson_files(directory)]
    seen: dict[Any, Path] = {}
    for lesson in lessons:
        for key in (("number", lesson.number), ("id", lesson.id)):
            if key in seen:
                raise LessonError(lesson.path, [(key[0], f"{key[1]!r} is also used by {seen[key].name}; "
                                                          "give each lesson its own.")])
            seen[key] = lesson.path
    return lessons
