"""The lesson renderer: one step of a lesson on screen, its questions, and the student's progress.

A step shows its text and formulas, then its live part (`lesson_widgets`), a "try this" prompt
and a question. A *choice* question gives feedback as soon as an option is picked, right or
wrong, always with the explanation. A *predict* question hides the step's live part until the
student locks in a prediction; then it reveals the part and says whether the prediction was
right.

Progress lives in `st.session_state` (per browser session): which steps were seen, which
answers and predictions were given. A lesson is done when every step was seen and every
question answered. `parse_link` turns a link's query parameters into a place in the course,
with one sentence for anything it had to ignore.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from .lesson_widgets import WidgetContext, render_widget

PROGRESS_KEY = "lessons.progress"
MAX_SEED = 2**31 - 1


# --------------------------------------------------------------------------- progress


def progress(lesson_id: str) -> dict:
    """This session's progress in one lesson: {"seen": set, "answers": {step: option}, "predictions": {...}}."""
    book = st.session_state.setdefault(PROGRESS_KEY, {})
    return book.setdefault(lesson_id, {"seen": set(), "answers": {}, "predictions": {}})


def is_done(lesson) -> bool:
    p = st.session_state.get(PROGRESS_KEY, {}).get(lesson.id)
    if p is None:
        return False
    answered = set(p["answers"]) | set(p["predictions"])
    return len(p["seen"]) == len(lesson.steps) and all(i in answered for i, _ in lesson.questions)


def mark_seen(lesson, index: int) -> None:
    progress(lesson.id)["seen"].add(index)


def reset_progress(lesson_id: str) -> None:
    st.session_state.setdefault(PROGRESS_KEY, {}).pop(lesson_id, None)


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class Place:
    """Where a link points: lesson index (0-based), step index (0-based) and seed."""

    lesson: int = 0
    step: int = 0
    seed: int = 0


def parse_link(params: dict, lessons, default: Place = Place()) -> tuple[Place, list[str]]:
    """Query parameters (lesson=<id>, step=<1-based>, seed=<int>) -> (Place, notes).

    Anything missing keeps `default`; anything wrong is ignored with one sentence in `notes`.
    """
    notes = []
    lesson_i, step_i, seed = default.lesson, default.step, default.seed
    ids = [l.id for l in lessons]
    if "lesson" in params:
        wanted = str(params["lesson"]).strip()
        if wanted in ids:
            if ids.index(wanted) != lesson_i:
                lesson_i, step_i = ids.index(wanted), 0
        elif wanted.isdigit() and 1 <= int(wanted) <= len(lessons):
            lesson_i, step_i = int(wanted) - 1, 0
        else:
            notes.append(f"The link names a lesson “{wanted}” that does not exist; opening "
                         f"“{lessons[lesson_i].title}” instead.")
    n_steps = len(lessons[lesson_i].steps)
    if "step" in params:
        raw = str(params["step"]).strip()
        if raw.isdigit() and 1 <= int(raw) <= n_steps:
            step_i = int(raw) - 1
        else:
            notes.append(f"The link asks for step “{raw}”, but this lesson has steps 1 to {n_steps}; "
                         f"opening step {step_i + 1}.")
    if "seed" in params:
        raw = str(params["seed"]).strip()
        if raw.isdigit() and int(raw) <= MAX_SEED:
            seed = int(raw)
        else:
            notes.append(f"The link's seed “{raw}” is not a whole number from 0 to {MAX_SEED}; using seed {seed}.")
    return Place(lesson_i, min(step_i, n_steps - 1), seed), notes


def link_params(lesson, step: int, seed: int) -> dict:
    """The query parameters that reopen exactly this step (step is 0-based here, 1-based in links)."""
    return {"lesson": lesson.id, "step": str(step + 1), "seed": str(seed)}


# --------------------------------------------------------------------------- questions


def _feedback(question, chosen: str) -> None:
    if chosen == question.answer:
        st.success(f"**Right.** {question.explanation}", icon=":material/check_circle:")
    else:
        st.error(f"**Not quite** — the answer is: *{question.answer}*  \n{question.explanation}",
                 icon=":material/cancel:")


def _record_answer(lesson_id: str, index: int, key: str) -> None:
    chosen = st.session_state.get(key)
    if chosen is not None:
        progress(lesson_id)["answers"][index] = chosen


def render_choice(lesson, index: int) -> None:
    """A check of understanding: feedback as soon as an option is picked."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.q.{lesson.id}.{index}"
    stored = p["answers"].get(index)
    st.markdown("**Check your understanding**")
    chosen = st.radio(q.prompt, q.options, index=q.options.index(stored) if stored in q.options else None,
                      key=key, on_change=_record_answer, args=(lesson.id, index, key))
    if chosen is not None:
        p["answers"][index] = chosen
        _feedback(q, chosen)


def _commit_prediction(lesson_id: str, index: int, key: str) -> None:
    guess = st.session_state.get(key)
    if guess is not None:
        progress(lesson_id)["predictions"][index] = guess


def _forget_prediction(lesson_id: str, index: int) -> None:
    progress(lesson_id)["predictions"].pop(index, None)


def render_predict(lesson, index: int) -> bool:
    """Predict, then reveal. Returns True once a prediction is locked in (reveal the live part)."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.predict.{lesson.id}.{index}"
    committed = p["predictions"].get(index)
    st.markdown("**Predict first**")
    if committed is None:
        guess = st.radio(q.prompt, q.options, index=None, key=key)
        st.button("Lock in my prediction and reveal", key=f"{key}.reveal", type="primary",
                  disabled=guess is None, on_click=_commit_prediction, args=(lesson.id, index, key))
        st.caption("The live figure appears once you have committed to a prediction.")
        return False
    # Plain text, not a disabled radio: the locked answer is what the class discusses now, so it
    # must be the clearest thing on the screen, not greyed out among the options not taken.
    with st.container(border=True, key=f"{key}.locked"):
        st.markdown(q.prompt)
        st.markdown(f":material/lock: Locked in: **{committed}**")  # not a quote: Streamlit greys those
    _feedback(q, committed)
    st.button("Predict again", key=f"{key}.again", on_click=_forget_prediction, args=(lesson.id, index))
    return True


# --------------------------------------------------------------------------- a step


def render_step(lesson, index: int, *, seed: int = 0, presenter: bool = False) -> None:
    """Draw step `index` (0-based) of `lesson` and mark it as seen."""
    step = lesson.steps[index]
    mark_seen(lesson, index)
    if presenter:
        st.title(step.title)
    else:
        st.subheader(f"{index + 1}. {step.title}")
    st.markdown(step.body)
    for formula in step.latex:
        st.latex(formula)

    ctx = None
    if step.widget is not None:
        ctx = WidgetContext(params=step.widget.params, seed=seed, presenter=presenter,
                            key=f"lessons.w.{lesson.id}.{index}.{step.widget.name}")
    q = step.question
    if q is not None and q.kind == "predict":
        if render_predict(lesson, index):
            render_widget(step.widget.name, ctx)
            if step.try_this:
                st.info(f"**Try this:** {step.try_this}", icon=":material/science:")
        return
    if ctx is not None:
        render_widget(step.widget.name, ctx)
    if step.try_this:
        st.info(f"**Try this:** {step.try_this}", icon=":material/science:")
    if q is not None:
        render_choice(lesson, index)
