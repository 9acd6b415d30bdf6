"""The lesson renderer: one step of a lesson on screen, its questions, and the student's progress.

A step shows its text and formulas, then its live part (`lesson_widgets`), a "try this" prompt
and a question. A *choice* question gives feedback as soon as an option is picked, right or
wrong, always with the explanation. A *predict* question is predict, observe, explain: the
student locks in a prediction; only then is the live part drawn (and, for a trained part,
trained); once its result is on screen, "Compare with what you saw" reveals whether the
prediction was right and why. A *number* question asks for a value read off the live part and
checks it against the value the part reported for this very run.

Options are shown in the order `transformer.course.display_order` fixed for the step (the same
for a whole class), and every `{{run.NAME}}` in a text is filled with the number the step's
part reported (`WidgetContext.report`), so what the lesson quotes is the run on screen.

Progress lives in `st.session_state` (per browser session): which steps were seen, which
answers, predictions and numbers were given. A lesson is done when every step was seen and
every question answered (a prediction counts once it was compared). `parse_link` turns a link's
query parameters into a place in the course, with one sentence for anything it had to ignore.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ..course import fill_run_values
from .lesson_widgets import WidgetContext, render_widget

PROGRESS_KEY = "lessons.progress"
MAX_SEED = 2**31 - 1


# --------------------------------------------------------------------------- progress


def progress(lesson_id: str) -> dict:
    """This session's progress in one lesson: {"seen": set, "answers": {step: option},
    "predictions": {step: option}, "compared": set of predict steps revealed, "numbers": {step: value}}."""
    book = st.session_state.setdefault(PROGRESS_KEY, {})
    p = book.setdefault(lesson_id, {"seen": set(), "answers": {}, "predictions": {}})
    p.setdefault("compared", set())
    p.setdefault("numbers", {})
    return p


def answered(lesson) -> set[int]:
    """The steps whose question is answered: an option picked, a prediction compared, a number given."""
    p = st.session_state.get(PROGRESS_KEY, {}).get(lesson.id)
    if p is None:
        return set()
    return set(p["answers"]) | set(p.get("compared", ())) | set(p.get("numbers", {}))


def is_done(lesson) -> bool:
    p = st.session_state.get(PROGRESS_KEY, {}).get(lesson.id)
    if p is None:
        return False
    done = answered(lesson)
    return len(p["seen"]) == len(lesson.steps) and all(i in done for i, _ in lesson.questions)


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


def _feedback(question, chosen: str, values: dict) -> None:
    explanation = fill_run_values(question.explanation, values)
    if chosen == question.answer:
        st.success(f"**Right.** {explanation}", icon=":material/check_circle:")
    else:
        st.error(f"**Not quite** — the answer is: *{question.answer}*  \n{explanation}",
                 icon=":material/cancel:")


def _record_answer(lesson_id: str, index: int, key: str) -> None:
    chosen = st.session_state.get(key)
    if chosen is not None:
        progress(lesson_id)["answers"][index] = chosen


def render_choice(lesson, index: int, values: dict | None = None) -> None:
    """A check of understanding: feedback as soon as an option is picked."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.q.{lesson.id}.{index}"
    stored = p["answers"].get(index)
    options = list(q.shown_options)
    st.markdown("**Check your understanding**")
    chosen = st.radio(q.prompt, options, index=options.index(stored) if stored in options else None,
                      key=key, on_change=_record_answer, args=(lesson.id, index, key))
    if chosen is not None:
        p["answers"][index] = chosen
        _feedback(q, chosen, values or {})


def _record_number(lesson_id: str, index: int, key: str) -> None:
    typed = st.session_state.get(key)
    if typed is not None:
        progress(lesson_id)["numbers"][index] = typed


def _show(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def render_number(lesson, index: int, ctx: WidgetContext | None) -> None:
    """A number read off the live part: checked against the value the part reported for this run."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.n.{lesson.id}.{index}"
    values = ctx.values if ctx is not None else {}
    st.markdown("**Read it off the figure**")
    if q.value not in values:
        st.number_input(q.prompt, value=None, key=key, disabled=True, format="%g")
        st.caption((ctx.pending if ctx is not None and ctx.pending else None)
                   or "Run the live part above first: the answer is read off it.")
        return
    typed = st.number_input(q.prompt, value=None, key=key, format="%g", step=None,
                            on_change=_record_number, args=(lesson.id, index, key),
                            placeholder="type the number you read")
    if typed is None:
        return
    p["numbers"][index] = typed
    truth = values[q.value]
    explanation = fill_run_values(q.explanation, values)
    if abs(typed - truth) <= q.tolerance:
        st.success(f"**Right.** This run shows {_show(truth)}. {explanation}", icon=":material/check_circle:")
    else:
        st.error(f"**Not quite** — this run shows {_show(truth)} (within ±{q.tolerance:g} counts).  \n"
                 f"{explanation}", icon=":material/cancel:")


def _commit_prediction(lesson_id: str, index: int, key: str) -> None:
    guess = st.session_state.get(key)
    if guess is not None:
        progress(lesson_id)["predictions"][index] = guess


def _compare(lesson_id: str, index: int) -> None:
    progress(lesson_id)["compared"].add(index)


def _forget_prediction(lesson_id: str, index: int) -> None:
    p = progress(lesson_id)
    p["predictions"].pop(index, None)
    p["compared"].discard(index)


def render_prediction(lesson, index: int) -> str | None:
    """Predict first: the options and a lock button, or the locked prediction. Returns the
    locked prediction (then draw the live part, then `render_comparison`), or None."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.predict.{lesson.id}.{index}"
    committed = p["predictions"].get(index)
    st.markdown("**Predict first**")
    if committed is None:
        guess = st.radio(q.prompt, list(q.shown_options), index=None, key=key)
        st.button("Lock in my prediction", key=f"{key}.lock", type="primary",
                  disabled=guess is None, on_click=_commit_prediction, args=(lesson.id, index, key))
        st.caption("The live figure appears once you have committed to a prediction.")
        return None
    # Plain text, not a disabled radio: the locked answer is what the class discusses now, so it
    # must be the clearest thing on the screen, not greyed out among the options not taken.
    with st.container(border=True, key=f"{key}.locked"):
        st.markdown(q.prompt)
        st.markdown(f":material/lock: Locked in: **{committed}**")  # not a quote: Streamlit greys those
    return committed


def render_comparison(lesson, index: int, ctx: WidgetContext | None) -> None:
    """Under the live part: "Compare with what you saw" (once the part's result is on screen),
    then the verdict and the explanation, filled with this run's numbers."""
    q = lesson.steps[index].question
    p = progress(lesson.id)
    key = f"lessons.predict.{lesson.id}.{index}"
    committed = p["predictions"].get(index)
    if index in p["compared"]:
        _feedback(q, committed, ctx.values if ctx is not None else {})
    else:
        pending = ctx.pending if ctx is not None else None
        st.button("Compare with what you saw", key=f"{key}.compare", type="primary", disabled=pending is not None,
                  on_click=_compare, args=(lesson.id, index))
        st.caption(pending or "Look at the live part first, then compare it with your prediction.")
    st.button("Predict again", key=f"{key}.again", on_click=_forget_prediction, args=(lesson.id, index))


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
        if render_prediction(lesson, index) is not None:
            render_widget(step.widget.name, ctx)
            _try_this(step, ctx)
            render_comparison(lesson, index, ctx)
        return
    if ctx is not None:
        render_widget(step.widget.name, ctx)
    _try_this(step, ctx)
    if q is not None and q.kind == "number":
        render_number(lesson, index, ctx)
    elif q is not None:
        render_choice(lesson, index, ctx.values if ctx is not None else {})


def _try_this(step, ctx: WidgetContext | None) -> None:
    if step.try_this:
        text = fill_run_values(step.try_this, ctx.values if ctx is not None else {})
        st.info(f"**Try this:** {text}", icon=":material/science:")
