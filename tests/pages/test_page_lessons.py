"""The lessons page through Streamlit's AppTest: every step of every lesson, every question
answered wrong and then right, links, the picker, presenter mode, a broken lesson file, and the
live parts that need a trained model (fed tiny models trained here in a second)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fresh_session
from streamlit.testing.v1 import AppTest

from transformer.course import WIDGET_SPECS, load_all
from transformer.figures.attention import MASKED_COLOUR
from transformer.ui.lesson import Place, link_params, parse_link
from transformer.ui.lesson_widgets import WIDGETS
from transformer.ui.text import plain

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "lessons.py")
LESSONS = load_all()
WIDGET_PROBLEM = ("could not be drawn", "not part of this version")


def open_page(presenter: bool = False, **query) -> AppTest:
    at = AppTest.from_function(fresh_session, args=(PAGE,), default_timeout=120)
    if presenter:
        at.session_state["presenter_mode"] = True
    for key, value in query.items():
        at.query_params[key] = str(value)
    return at.run()


def check_clean(at: AppTest) -> None:
    assert not at.exception, at.exception[0].value
    problems = [w.value for w in at.warning if any(p in w.value for p in WIDGET_PROBLEM)]
    problems += [i.value for i in at.info if any(p in i.value for p in WIDGET_PROBLEM)]
    assert not problems, problems


def feedback(at: AppTest) -> tuple[list[str], list[str]]:
    """The question feedback on screen: (right messages, wrong messages)."""
    return ([s.value for s in at.success if s.value.startswith("**Right.**")],
            [e.value for e in at.error if e.value.startswith("**Not quite**")])


def wrong_option(question) -> str:
    return next(o for o in question.options if o != question.answer)


# --------------------------------------------------------------------------- the whole course


def _walk_session(page, lesson_id):
    """AppTest script: a clean session whose lesson runs are tiny and trained, then the page."""
    import runpy

    import streamlit as st

    from lesson_fixtures import seed_tiny_runs
    from transformer.course import load_all

    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()
        seed_tiny_runs([l for l in load_all() if l.id == lesson_id])
    runpy.run_path(page, run_name="__main__")


# The parts `lesson_fixtures.seed_tiny_runs` makes ready (or that need only a measure button). A
# part beyond these (an experiment of several full runs, a vision transformer) would take minutes
# on a loaded machine: the walk checks that it keeps its answer closed, and leaves it untrained.
READY_IN_A_WALK = {"attention_heatmap", "head_grid", "date_cross_attention", "embedding_space", "training_curves",
                   "train_preset", "output_layer", "race", "step_time"}


def _finish_live_part(at: AppTest, compare_key: str, widget: str, timeout_s: float = 150) -> bool:
    """Press what the live part still needs (a measure button, a train button) and poll until
    the part reports that its result is on screen (the compare button or the question unlocks).
    False, untouched, for a part the walk does not run (see READY_IN_A_WALK)."""
    import time

    def waiting() -> bool:
        if compare_key.endswith(".compare"):
            return at.button(key=compare_key).disabled
        return at.number_input(key=compare_key).disabled

    if not waiting():
        return True
    if widget not in READY_IN_A_WALK:
        return False
    for b in at.button:
        if b.label.startswith(("Train the ", "Start the race", "Measure")):
            b.click().run()
            break
    deadline = time.monotonic() + timeout_s
    while waiting() and time.monotonic() < deadline:
        time.sleep(1)
        at.run()
    assert not waiting(), f"{compare_key}: the live part never finished"
    return True


def _run_value(message: str) -> float:
    import re

    return float(re.search(r"this run shows ([-0-9.,e+]+)", message).group(1).replace(",", ""))


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[l.id for l in LESSONS])
def test_walk_every_step_answering_wrong_then_right(lesson):
    at = AppTest.from_function(_walk_session, args=(PAGE, lesson.id), default_timeout=180)
    for key, value in {"lesson": lesson.id, "step": 1, "seed": 0}.items():
        at.query_params[key] = str(value)
    at.run()
    untried = []                      # steps whose live part the walk leaves untrained
    for i, step in enumerate(lesson.steps):
        check_clean(at)
        assert any(step.title in s.value for s in at.subheader), (i, [s.value for s in at.subheader])
        assert at.query_params["step"] == [str(i + 1)] or at.query_params["step"] == str(i + 1)
        q = step.question
        if q is not None and q.kind == "choice":
            key = f"lessons.q.{lesson.id}.{i}"
            assert list(at.radio(key=key).options) == list(q.shown_options)
            at.radio(key=key).set_value(wrong_option(q)).run()
            ok, bad = feedback(at)
            assert not ok and any("Not quite" in e and q.answer in e for e in bad)
            at.radio(key=key).set_value(q.answer).run()
            ok, bad = feedback(at)
            assert any("Right" in s for s in ok) and not bad
        elif q is not None and q.kind == "number":
            key = f"lessons.n.{lesson.id}.{i}"
            if not _finish_live_part(at, key, step.widget.name):
                assert feedback(at) == ([], []) and at.number_input(key=key).disabled
                untried.append(i + 1)
                at.button(key="lessons.next").click().run() if i + 1 < len(lesson.steps) else None
                continue
            at.number_input(key=key).set_value(-12345.0).run()
            ok, bad = feedback(at)
            assert not ok and len(bad) == 1 and "this run shows" in bad[0]
            at.number_input(key=key).set_value(_run_value(bad[0])).run()
            ok, bad = feedback(at)
            assert len(ok) == 1 and not bad and "{{run." not in ok[0]
        elif q is not None:
            key = f"lessons.predict.{lesson.id}.{i}"
            charts_before = len(at.get("plotly_chart")) + len(at.get("component_instance"))
            assert any("appears once you have committed" in c.value for c in at.caption)
            assert at.button(key=f"{key}.lock").disabled
            at.radio(key=key).set_value(wrong_option(q)).run()
            at.button(key=f"{key}.lock").click().run()
            check_clean(at)
            assert any(m.value == f":material/lock: Locked in: **{wrong_option(q)}**" for m in at.markdown)  # as text
            assert feedback(at) == ([], []), "the answer showed before the live part was seen"
            revealed = len(at.get("plotly_chart")) + len(at.get("component_instance")) > charts_before or any(
                b.label.startswith(("Train the ", "Start the race", "Measure")) for b in at.button)
            assert revealed, f"{lesson.id} step {i + 1}: nothing revealed"
            if not _finish_live_part(at, f"{key}.compare", step.widget.name):
                assert at.button(key=f"{key}.compare").disabled and feedback(at) == ([], [])
                untried.append(i + 1)
                at.button(key="lessons.next").click().run() if i + 1 < len(lesson.steps) else None
                continue
            at.button(key=f"{key}.compare").click().run()
            ok, bad = feedback(at)
            assert not ok and len(bad) == 1 and "{{run." not in bad[0]
            at.button(key=f"{key}.again").click().run()
            at.radio(key=key).set_value(q.answer).run()
            at.button(key=f"{key}.lock").click().run()
            at.button(key=f"{key}.compare").click().run()
            check_clean(at)
            ok, bad = feedback(at)
            assert len(ok) == 1 and not bad and "{{run." not in ok[0]
        if i + 1 < len(lesson.steps):
            at.button(key="lessons.next").click().run()
    if untried:                       # the lesson says which questions are still open
        assert any("answer the question on" in i.value and str(untried[-1]) in i.value for i in at.info)
        return
    assert any(f"Lesson {lesson.number} done" in s.value for s in at.success)
    labels = at.selectbox(key="lessons.picker").options
    assert f"✅ {lesson.number} · {lesson.title}" in labels
    assert sum(label.startswith("✅") for label in labels) == 1


def test_a_prediction_is_revealed_only_after_the_live_part_has_run():
    """Lock, then the live part, then "compare": before the model is trained the compare button
    waits, and neither the verdict nor the explanation is on the page."""
    attention = next(l for l in LESSONS if l.id == "attention")
    index = next(i for i, s in enumerate(attention.steps) if s.widget and s.widget.name == "attention_heatmap")
    q = attention.steps[index].question
    at = open_page(lesson="attention", step=index + 1)
    key = f"lessons.predict.attention.{index}"
    at.radio(key=key).set_value(q.answer).run()
    at.button(key=f"{key}.lock").click().run()
    check_clean(at)
    assert feedback(at) == ([], [])
    assert q.explanation[:40] not in " ".join(m.value for m in at.markdown)
    assert at.button(key=f"{key}.compare").disabled
    assert any("Train the model above first" in c.value for c in at.caption)
    assert any(b.label.startswith("Train the preset") for b in at.button)


def test_a_computed_part_reveals_on_compare_with_its_own_numbers():
    attention = next(l for l in LESSONS if l.id == "attention")
    index = next(i for i, s in enumerate(attention.steps) if s.widget and s.widget.name == "attention_by_hand")
    q = attention.steps[index].question
    at = open_page(lesson="attention", step=index + 1)
    key = f"lessons.predict.attention.{index}"
    at.radio(key=key).set_value(q.answer).run()
    at.button(key=f"{key}.lock").click().run()
    assert feedback(at) == ([], []) and len(at.get("plotly_chart")) == 2
    compare = at.button(key=f"{key}.compare")
    assert not compare.disabled
    compare.click().run()
    ok, bad = feedback(at)
    assert len(ok) == 1 and not bad


def _report_script():
    """AppTest script: every widget the lessons use, drawn once with tiny trained runs; what each
    reported is kept in session_state["test.reported"]."""
    import streamlit as st

    from lesson_fixtures import seed_tiny_runs
    from transformer.course import load_all
    from transformer.ui.lesson_widgets import WidgetContext, render_widget

    lessons = load_all()
    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()
        seed_tiny_runs(lessons)
        # step_time measures only on a button press: give it a measurement to draw.
        fake = {"lengths": [16, 32], "seconds": [0.01, 0.02], "activation_mb": [1.0, 2.0]}
        st.session_state["rep.step_time.measured"] = {"Transformer": fake, "LSTM": fake}
    reported = {}
    for lesson in lessons:
        for step in lesson.steps:
            w = step.widget
            if w is None or w.name in reported:
                continue
            ctx = WidgetContext(params=w.params, seed=0, key=f"rep.{w.name}")
            render_widget(w.name, ctx)
            reported[w.name] = (dict(ctx.values), ctx.pending)
    st.session_state["test.reported"] = reported


@pytest.mark.slow
def test_every_widget_reports_the_numbers_its_lessons_quote():
    """The other half of the quoted-numbers rule: the loader checks a lesson quotes only names
    its widget declares (WIDGET_REPORTS); here every widget, drawn on a run, reports them."""
    import re

    from transformer.course import PLACEHOLDER, WIDGET_REPORTS

    at = AppTest.from_function(_report_script, default_timeout=300).run()
    check_clean(at)
    reported = at.session_state["test.reported"]
    quoted: dict[str, set] = {}
    for lesson in LESSONS:
        for step in lesson.steps:
            if step.widget is None:
                continue
            texts = [step.try_this or ""] + ([step.question.explanation] if step.question else [])
            names = {m.group(1) for t in texts for m in PLACEHOLDER.finditer(t)}
            if step.question is not None and step.question.kind == "number":
                names.add(step.question.value)
            quoted.setdefault(step.widget.name, set()).update(names)
    # A tiny run never reaches 50% right, so it has no step where it rose; a real run has.
    depends_on_training = {"rise_step"}
    # The parts lesson_fixtures can make ready (computed, or a tiny seeded run); a part it cannot
    # (an experiment of several runs) reports nothing until run, and the walk test runs it.
    seeded = {"attention_heatmap", "head_grid", "date_cross_attention", "embedding_space", "training_curves",
              "train_preset", "output_layer", "race", "step_time", "vanishing_gradients", "attention_by_hand",
              "softmax_scaling", "order_lost", "positional_curves", "positional_similarity", "rotary",
              "block_diagram", "causal_mask", "lr_schedule", "quadratic_cost", "image_patches", "rnn_unroll"}
    for name, (values, pending) in reported.items():
        assert set(values) <= set(WIDGET_REPORTS.get(name, ())), (name, set(values))
        if name not in seeded:
            continue
        assert pending is None, (name, pending)
        missing = quoted.get(name, set()) - set(values) - depends_on_training
        assert not missing, (name, missing)
        assert all(isinstance(v, float) and v == v for v in values.values()), (name, values)   # numbers, no NaN
    assert re.fullmatch(r"[0-9.]+", f"{reported['attention_by_hand'][0]['weight_cat_pct']:.1f}")
    assert abs(reported["attention_by_hand"][0]["weight_cat_pct"] - 66.5) < 0.5   # 0.665, worked by hand


def test_every_widget_a_lesson_can_name_has_code_behind_it():
    assert set(WIDGETS) == set(WIDGET_SPECS)


# --------------------------------------------------------------------------- links and navigation


def test_parse_link_reads_lesson_step_and_seed_and_explains_bad_values():
    place, notes = parse_link({"lesson": "attention", "step": "3", "seed": "7"}, LESSONS)
    assert place == Place(LESSONS.index(next(l for l in LESSONS if l.id == "attention")), 2, 7) and not notes
    place, notes = parse_link({"lesson": "nope", "step": "99", "seed": "-1"}, LESSONS, Place(1, 1, 3))
    assert place == Place(1, 1, 3) and len(notes) == 3
    assert "nope" in notes[0] and "99" in notes[1] and "-1" in notes[2]
    assert parse_link({"lesson": "2"}, LESSONS)[0] == Place(1, 0, 0)
    lesson = LESSONS[4]
    assert parse_link(link_params(lesson, 3, 11), LESSONS)[0] == Place(4, 3, 11)


def test_a_link_reopens_exactly_that_step_with_its_seed():
    at = open_page(lesson="attention", step=3, seed=5)
    check_clean(at)
    attention = next(l for l in LESSONS if l.id == "attention")
    assert at.subheader[0].value == f"3. {attention.steps[2].title}"
    assert at.number_input(key="lessons.seed").value == 5
    assert dict(at.query_params) in ({"lesson": ["attention"], "step": ["3"], "seed": ["5"]},
                                     {"lesson": "attention", "step": "3", "seed": "5"})
    assert any("lesson=attention&step=3&seed=5" in c.value for c in at.caption)


def test_bad_link_values_get_one_sentence_each_and_the_page_still_opens():
    at = open_page(lesson="no_such_lesson", step="x", seed="-4")
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 3 and plain("no_such_lesson") in warnings[0]  # shown as text, escaped
    assert at.header[0].value.startswith("Lesson 1:")


def test_previous_and_next_cross_lesson_boundaries_and_the_picker_jumps():
    first, second = LESSONS[0], LESSONS[1]
    at = open_page(lesson=first.id, step=len(first.steps))
    at.button(key="lessons.next").click().run()
    assert at.header[0].value == f"Lesson 2: {second.title}"
    assert at.subheader[0].value.startswith("1. ")
    at.button(key="lessons.prev").click().run()
    assert at.header[0].value == f"Lesson 1: {first.title}"
    at.selectbox(key="lessons.picker").set_value(f"6 · {LESSONS[5].title}").run()
    assert at.header[0].value == f"Lesson 6: {LESSONS[5].title}"
    at.selectbox(key=f"lessons.jump.{LESSONS[5].id}").set_value(2).run()
    assert at.subheader[0].value.startswith("3. ")


def test_the_place_survives_leaving_the_page_and_coming_back():
    at = open_page(lesson="the_block", step=2)
    at.query_params.clear()          # what switching to another page and back does to the URL
    at.run()
    assert at.subheader[0].value.startswith("2. ") and at.header[0].value.startswith("Lesson 6")


def test_seed_input_changes_the_link():
    at = open_page(lesson="positional_encoding", step=1)
    at.number_input(key="lessons.seed").set_value(42).run()
    check_clean(at)
    assert at.query_params["seed"] in (["42"], "42")


def test_presenter_mode_shows_one_idea_with_controls_folded_away():
    at = open_page(presenter=True, lesson="attention", step=2)
    check_clean(at)
    attention = next(l for l in LESSONS if l.id == "attention")
    assert at.title[0].value == attention.steps[1].title        # the step is the headline
    assert not at.header                                         # no lesson header, goals or progress bar
    labels = [e.label for e in at.expander]
    assert "Lesson controls" in labels
    # The predict question hides the figure; reveal it, and its knobs sit in a closed expander.
    key = "lessons.predict.attention.1"
    at.radio(key=key).set_value("cat").run()
    at.button(key=f"{key}.lock").click().run()
    assert "Controls" in [e.label for e in at.expander]
    assert len(at.get("plotly_chart")) == 2


def test_a_broken_lesson_file_is_one_clear_error_not_a_traceback(tmp_path, monkeypatch):
    good = (Path(__file__).resolve().parents[2] / "lessons" / "06_the_block.toml").read_text()
    (tmp_path / "01_broken.toml").write_text(good.replace('answer = "× 4"', 'answer = "five"')
                                             .replace('answer = "Its input, unchanged."', 'answer = "?"'))
    monkeypatch.setenv("TLAB_LESSONS_DIR", str(tmp_path))
    at = open_page()
    assert not at.exception
    message = at.error[0].value
    assert "01_broken.toml" in message and "steps[1].question.answer" in message


# --------------------------------------------------------------------------- live parts with a model


def _trained_lessons_script(page_keys):
    """AppTest script: train tiny lesson models for the tasks the steps need, then draw the steps."""
    import streamlit as st

    from transformer.course import load_all
    from transformer.config import ModelConfig
    from transformer.tasks import get_task
    from transformer.training import TrainConfig
    from transformer.ui.lesson import render_step
    from transformer.ui.lesson_models import lesson_runs
    import time

    from transformer.runs.job import ACTIVE

    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()
        runs = lesson_runs()
        tiny = dict(d_model=16, n_heads=2, n_layers=2, d_ff=32)
        for key, task_name, arch in ((("reverse", "decoder", 0), "reverse", "decoder"),
                                     (("sort", "decoder", 0), "sort", "decoder"),
                                     (("dates", "encoder-decoder", 0), "dates", "encoder-decoder"),
                                     (("sentiment", "encoder", 0), "sentiment", "encoder"),
                                     (("demo", "induction", 0), "induction", "decoder")):
            task = get_task(task_name)
            cfg = ModelConfig(vocab_size=task.vocab_size, max_len=task.max_len(ModelConfig(arch=arch).layout),
                              arch=arch, **tiny)
            train = TrainConfig(steps=12, batch_size=8, eval_every=6, eval_size=16, warmup=2, device="cpu", threads=1)
            run = runs.start_configs(key, task, cfg, train)
            deadline = time.monotonic() + 120      # queued behind the others on a loaded machine
            while run.status in ACTIVE and time.monotonic() < deadline:
                run.join(timeout=5)
    by_id = {l.id: l for l in load_all()}
    for lesson_id, index in page_keys:
        render_step(by_id[lesson_id], index, seed=0)


@pytest.mark.slow
def test_live_parts_that_need_a_trained_model_draw_it():
    steps = [("attention", 4), ("multi_head_attention", 2), ("multi_head_attention", 3),
             ("encoder_decoder", 4), ("words_as_vectors", 3), ("training", 0), ("training", 2)]
    at = AppTest.from_function(_trained_lessons_script, args=(steps,), default_timeout=180).run()
    # Reveal every predict question so its figure is drawn.
    lessons = {l.id: l for l in LESSONS}
    for lesson_id, index in steps:
        q = lessons[lesson_id].steps[index].question
        if q is not None and q.kind == "predict":
            key = f"lessons.predict.{lesson_id}.{index}"
            at.radio(key=key).set_value(q.answer).run()
            at.button(key=f"{key}.lock").click().run()
    check_clean(at)
    assert not [b.label for b in at.button if b.label.startswith("Train the preset")]
    # Static charts, and the live curves the training lesson redraws in place (live_figures).
    titles = " | ".join([str(c.proto.spec) for c in at.get("plotly_chart")]
                        + [c.proto.json_args for c in at.get("component_instance")])
    for expected in ("each row is where one token looks", "Every head at once", "cross_attn",
                     "Watch the space form", "Cosine similarity", "Loss", "validation"):
        assert expected in titles, expected
    # Lesson 4's grid draws the causal mask grey, as the Attention page does (not as dark 0 weights).
    grid = next(str(c.proto.spec) for c in at.get("plotly_chart") if "Every head at once" in str(c.proto.spec))
    assert MASKED_COLOUR in grid
    assert any("parameters" in m.value for m in at.markdown)


def _race_step_script(params):
    """AppTest script: the lesson race widget alone, as lesson 11 embeds it."""
    from transformer.ui.lesson_context import WidgetContext
    from transformer.ui.lesson_race import race_widget

    race_widget(WidgetContext(params=params, seed=0, key="race_test"))


@pytest.mark.slow
def test_the_lesson_race_draws_every_model_live_and_stops_with_the_session():
    import gc
    import time

    from conftest import end_apptest_session, live_figures_of, plotly_array
    from transformer.runs.race import RaceRun

    params = {"task": "reverse", "length": 3, "archs": ["decoder", "lstm"]}
    at = AppTest.from_function(_race_step_script, args=(params,), default_timeout=60).run()
    at.button(key="race_test.race").click().run()
    assert not at.exception

    def points() -> list[int]:
        figure = live_figures_of(at, "race_test.race_curves")["race"]
        return [len(plotly_array(t["x"])) for t in figure["data"]]

    deadline = time.monotonic() + 90
    while min(points(), default=0) < 2 and time.monotonic() < deadline:
        time.sleep(1)
        at.run()
    assert not at.exception
    figure = live_figures_of(at, "race_test.race_curves")["race"]
    assert [t["name"] for t in figure["data"]] == ["Transformer", "Transformer", "LSTM", "LSTM"]
    assert min(points()) >= 2, "the race's curves did not grow"
    assert any("parameters" in m.value and "step" in m.value for m in at.markdown)
    # Closing the tab ends the race's thread.
    end_apptest_session()
    races = [r for r in gc.get_objects() if type(r) is RaceRun]
    assert races and all(r.join(timeout=15) for r in races), "a race thread outlived its session"
    assert {r.status for r in races} == {"stopped"}


def test_lesson_runs_evaluate_often_enough_to_show_the_s_curve(monkeypatch):
    """Lesson 9 asks about the S-shaped rise of sequence accuracy; the reverse preset evaluates
    every 50 steps and stops at its target after three points, so lesson runs evaluate every 10."""
    from transformer.presets import preset_configs
    from transformer.tasks import get_task
    from transformer.ui.lesson_models import LESSON_EVAL_EVERY, LessonRuns

    captured = {}
    monkeypatch.setattr(LessonRuns, "start_configs",
                        lambda self, key, task, model_cfg, train_cfg: captured.setdefault("cfg", train_cfg))
    # dates: a preset that still evaluates every 50 (reverse's own preset now evaluates every 10).
    LessonRuns(registry=None).start(("dates", "encoder-decoder", 3), "dates", "encoder-decoder", 3)
    _, preset = preset_configs(get_task("dates"), "encoder-decoder")
    assert preset.eval_every > LESSON_EVAL_EVERY == captured["cfg"].eval_every == 10
    assert captured["cfg"].seed == 3 and captured["cfg"].until_acc is not None   # still stops at the target
