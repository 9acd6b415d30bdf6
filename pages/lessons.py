"""Guided lessons: a course through the transformer, one step at a time, with the live parts.

The place in the course lives in the session (so switching pages and coming back keeps it) and
in the URL (`?lesson=attention&step=3&seed=0`), so a teacher's link reopens exactly that step
with the same seed. Presenter mode (the sidebar switch) shows one step per screen in large type,
with the lesson controls folded into an expander.
"""
from __future__ import annotations

import os

import streamlit as st

from transformer.course import LESSONS_DIR, LessonError, load_all
from transformer.ui import lesson as L
from transformer.ui.session import presenter_mode
from transformer.ui.state import LinkedSettings, show_notes

PLACE_KEY = "lessons.place"
PICKER_KEY = "lessons.picker"


@st.cache_resource(show_spinner=False)
def course(directory: str):
    """Every lesson, validated once per server process (lesson files change only on deploy)."""
    return load_all(directory)


try:
    # A teacher can point the app at a folder of their own lessons (same format).
    LESSONS = course(os.environ.get("TLAB_LESSONS_DIR") or str(LESSONS_DIR))
except LessonError as err:
    st.error("A lesson file is broken, so the lessons cannot open. Fix it and restart the app:\n\n"
             + "\n".join(f"- `{line}`" for line in str(err).splitlines()))
    st.stop()
if not LESSONS:
    st.error("There are no lesson files in the lessons folder: add files named like 01_my_lesson.toml.")
    st.stop()


def _place() -> L.Place:
    return st.session_state.get(PLACE_KEY, L.Place())


def _go(lesson: int, step: int, seed: int | None = None) -> None:
    seed = _place().seed if seed is None else seed
    st.session_state[PLACE_KEY] = L.Place(lesson, step, seed)


def _on_pick(labels: list[str]) -> None:
    _go(labels.index(st.session_state[PICKER_KEY]), 0)


def _on_jump(key: str) -> None:
    _go(_place().lesson, int(st.session_state[key]))


def _on_seed(key: str) -> None:
    place = _place()
    _go(place.lesson, place.step, int(st.session_state[key]))


# --------------------------------------------------------------------------- where are we?

def _place_from_link(query: dict) -> tuple[dict, list[str]]:
    place, notes = L.parse_link(query, LESSONS, _place())
    return {"place": place}, notes


# The place is one setting, st.session_state[PLACE_KEY]; a link opened (or the URL edited) wins
# over the session's place, and the URL always names the step shown.
def _link_of(values: dict) -> dict:
    place = values["place"]
    return L.link_params(LESSONS[place.lesson], place.step, place.seed)


PLACE = LinkedSettings("lessons.", read=_place_from_link, write=_link_of, names=("lesson", "step", "seed"))
show_notes(PLACE.start())
place = _place()
if place.lesson >= len(LESSONS):
    place = L.Place(0, 0, place.seed)
lesson = LESSONS[place.lesson]
step = min(place.step, len(lesson.steps) - 1)
presenter = presenter_mode()
L.mark_seen(lesson, step)  # before the picker is drawn, so its ✅ marks are current


# --------------------------------------------------------------------------- controls


def _label(l) -> str:
    mark = "✅ " if L.is_done(l) else ""
    return f"{mark}{l.number} · {l.title}"


def controls() -> None:
    # Plain labels as options (not ids with a format_func): the ✅ marks change as lessons get done.
    labels = [_label(l) for l in LESSONS]
    st.session_state[PICKER_KEY] = labels[place.lesson]
    c1, c2, c3 = st.columns([3, 2, 1])
    c1.selectbox("Lesson", labels, key=PICKER_KEY, on_change=_on_pick, args=(labels,))
    jump_key = f"lessons.jump.{lesson.id}"
    st.session_state[jump_key] = step
    c2.selectbox("Step", list(range(len(lesson.steps))), key=jump_key, on_change=_on_jump, args=(jump_key,),
                 format_func=lambda i: f"{i + 1}. {lesson.steps[i].title}")
    seed_key = "lessons.seed"
    st.session_state[seed_key] = place.seed
    c3.number_input("Seed", min_value=0, max_value=L.MAX_SEED, step=1, key=seed_key, on_change=_on_seed,
                    args=(seed_key,), help="Fixes every random choice and every training run of the lessons.")
    done = sum(L.is_done(l) for l in LESSONS)
    link = "lessons?" + "&".join(f"{k}={v}" for k, v in L.link_params(lesson, step, place.seed).items())
    st.caption(f"{done} of {len(LESSONS)} lessons done · [link to this step]({link}) (reopens this step "
               "with this seed)")


if presenter:
    with st.expander("Lesson controls", expanded=False):
        controls()
    st.caption(f"Lesson {lesson.number} · {lesson.title} · step {step + 1} of {len(lesson.steps)}")
else:
    st.title("Guided lessons")
    controls()
    st.header(f"Lesson {lesson.number}: {lesson.title}")
    st.markdown(f"*{lesson.summary}* About {lesson.minutes} minutes.")
    with st.expander("Goals of this lesson", expanded=step == 0):
        st.markdown("\n".join(f"- {g}" for g in lesson.goals))
    st.progress((step + 1) / len(lesson.steps), text=f"Step {step + 1} of {len(lesson.steps)}")


# --------------------------------------------------------------------------- the step

L.render_step(lesson, step, seed=place.seed, presenter=presenter)

st.divider()
prev_col, mid_col, next_col = st.columns([1, 2, 1])
if step > 0:
    prev_col.button(f"← {lesson.steps[step - 1].title}", key="lessons.prev", on_click=_go,
                    args=(place.lesson, step - 1), width="stretch")
elif place.lesson > 0:
    prev_col.button(f"← Lesson {place.lesson}: {LESSONS[place.lesson - 1].title}", key="lessons.prev",
                    on_click=_go, args=(place.lesson - 1, 0), width="stretch")
if step + 1 < len(lesson.steps):
    next_col.button(f"{lesson.steps[step + 1].title} →", key="lessons.next", type="primary", on_click=_go,
                    args=(place.lesson, step + 1), width="stretch")
elif place.lesson + 1 < len(LESSONS):
    next_col.button(f"Lesson {place.lesson + 2}: {LESSONS[place.lesson + 1].title} →", key="lessons.next",
                    type="primary", on_click=_go, args=(place.lesson + 1, 0), width="stretch")
if step + 1 == len(lesson.steps):
    if L.is_done(lesson):
        mid_col.success(f"Lesson {lesson.number} done: every step seen, every question answered.")
    else:
        p = L.progress(lesson.id)
        answered = L.answered(lesson)
        missing = [i + 1 for i, _ in lesson.questions if i not in answered]
        unseen = [i + 1 for i in range(len(lesson.steps)) if i not in p["seen"]]
        def steps_text(numbers):
            return ("step " if len(numbers) == 1 else "steps ") + ", ".join(map(str, numbers))

        parts = ([f"visit {steps_text(unseen)}"] if unseen else []) + \
                ([f"answer the question on {steps_text(missing)}"] if missing else [])
        mid_col.info("To finish this lesson, " + " and ".join(parts) + ".")

# The URL always says where we are, so copying it shares this exact step.
PLACE.sync_link({"place": L.Place(place.lesson, step, place.seed)})
