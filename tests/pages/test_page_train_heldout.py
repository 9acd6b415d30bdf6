"""The Train page for learning versus memorising, through Streamlit's AppTest: training beside
validation curves, the cures as settings (weight decay, a training-set size, early stopping) and
the sentence an early stop ends with, the task card's split, and the character model graded by
its next character and shown by samples, on the built-in text or a person's own.

AppTest does not tick `run_every` fragments, so tests poll with `at.run()`. Runs use tiny models.
"""
from __future__ import annotations

import re

import pytest
from conftest import live_figures_of, plotly_array, rerun_until
from streamlit.testing.v1 import AppTest

PAGE = "../../pages/train.py"  # relative to this file, as AppTest resolves it
TINY = dict(task="reverse", arch="decoder", length="4", d_model="16", n_heads="2", n_layers="1", d_ff="32",
            steps="3000", seed="0")
TINY_TEXT = dict(task="charlm", arch="decoder", length="16", d_model="32", n_heads="2", n_layers="1", d_ff="64",
                 steps="150", seed="0")


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def poll(at: AppTest, predicate, timeout: float = 90.0) -> bool:
    """Rerun the page until `predicate(at)` holds (AppTest does not tick run_every)."""
    return rerun_until(at, predicate, timeout)


def finished(at: AppTest) -> bool:
    return any(s.value.startswith(("Finished after", "Stopped early")) for s in at.success)


def plain_text(shown: str) -> str:
    """A sentence as the person reads it (`plain` escaped its punctuation for Markdown)."""
    return re.sub(r"\\(.)", r"\1", shown).replace("\u2060", "")


def samples_table(at: AppTest) -> str | None:
    return next((m.value for m in at.markdown if "tlab-samples" in m.value), None)


# --------------------------------------------------------------------------- the curves


def test_the_curves_draw_training_beside_validation_while_it_trains(stop_live_runs):
    at = open_page(**TINY, eval_every="10")
    at.button(key="train.b.train").click().run()

    def both_sides(a):
        figs = live_figures_of(a, "train.curves")
        names = {f: [t["meta"] for t in figs[f]["data"]] for f in ("loss", "accuracy")}
        return ("loss · training" in names["loss"] and "loss · validation (held-out)" in names["loss"]
                and "whole answers right · training" in names["accuracy"]
                and "whole answers right · validation (held-out)" in names["accuracy"])

    assert poll(at, both_sides), "the training and validation sides were not both drawn"
    acc = {t["meta"]: t for t in live_figures_of(at, "train.curves")["accuracy"]["data"]}
    train, val = acc["whole answers right · training"], acc["whole answers right · validation (held-out)"]
    assert (train["name"], val["name"]) == ("training", "validation (held-out)")
    assert train["line"]["dash"] == "dash" and "dash" not in val["line"], "the training side is dashed"
    assert train["line"]["color"] != val["line"]["color"]
    # The training side is the eval rows' own measurement (one point per evaluation).
    assert len(plotly_array(train["x"])) == len(plotly_array(val["x"]))
    at.button(key="train.b.stop").click().run()


# --------------------------------------------------------------------------- the settings


def test_the_task_card_says_what_is_held_out():
    at = open_page(task="parity")
    notes = [c.value for c in at.caption if c.value.startswith("**Held out:**")]
    assert len(notes) == 1 and "held out" in notes[0], notes


def test_weight_decay_is_a_setting_a_link_keeps():
    at = open_page(**TINY, weight_decay="0.2")
    assert not at.warning
    assert at.number_input(key="train.weight_decay").value == pytest.approx(0.2)
    assert at.query_params["weight_decay"] == "0.2"
    at.number_input(key="train.weight_decay").set_value(0.0).run()
    assert at.query_params["weight_decay"] == "0"
    bad = open_page(**TINY, weight_decay="3")
    notes = [plain_text(w.value) for w in bad.warning]
    assert any("weight_decay must be between 0 and 0.9" in n for n in notes), notes
    assert bad.number_input(key="train.weight_decay").value == pytest.approx(0.01), "and the preset's value"


# --------------------------------------------------------------------------- the character model


def test_the_character_model_is_shown_by_samples_not_graded_rows(stop_live_runs):
    at = open_page(**TINY_TEXT)
    at.button(key="train.b.train").click().run()
    assert poll(at, finished), "the run did not finish"
    table = samples_table(at)
    assert table is not None and "✗" not in table and "✓" not in table
    captions = " ".join(c.value for c in at.caption)
    assert "temperature 0.8" in captions and "seed 0" in captions
    assert any("next characters right" in s.value for s in at.success)
    acc = live_figures_of(at, "train.curves")["accuracy"]
    assert acc["layout"]["title"]["text"].startswith("Next-character accuracy")
    assert not any(t["meta"].startswith("whole answers") for t in acc["data"]), "a text window is never all right"
    at.run()
    assert samples_table(at) == table, "seeded: the same snapshot gives the same samples"


def test_your_own_text_is_checked_before_anything_runs():
    at = open_page(**TINY_TEXT)
    box = at.text_area(key="train.text")
    box.input("too short").run()
    assert len(at.error) == 1 and "paste at least" in at.error[0].value, "one sentence that says what to do"
    assert at.button(key="train.b.train").disabled
    box = at.text_area(key="train.text")
    box.input("".join(chr(0x4E00 + i) for i in range(400))).run()
    assert len(at.error) == 1 and "different characters" in at.error[0].value
    assert at.button(key="train.b.train").disabled
    assert "text" not in at.query_params, "a person's text never goes into the link"


def test_the_model_trains_on_your_own_text(stop_live_runs):
    at = open_page(**TINY_TEXT)
    text = "abba baab abab " * 40  # three characters: the model can write nothing else
    at.text_area(key="train.text").input(text).run()
    assert not at.error and not at.button(key="train.b.train").disabled
    assert f"your text of {len(text):,} characters" in at.expander[0].label
    at.button(key="train.b.train").click().run()
    assert poll(at, finished), "the run did not finish"
    table = samples_table(at)
    written = table.split("<b>")[1:]
    assert written and all(set(part.split("</b>")[0]) <= set("ab ") for part in written), table


# --------------------------------------------------------------------------- a finite training set, early stopping

MEMORISING = dict(TINY, d_model="32", d_ff="64", steps="20000", train_size="8", early_stop="2", eval_every="10")


def test_the_training_set_size_and_patience_are_settings_a_link_keeps():
    at = open_page(**MEMORISING)
    assert not at.warning
    assert at.number_input(key="train.train_size").value == 8
    assert at.number_input(key="train.early_stop").value == 2
    assert at.query_params["train_size"] == "8" and at.query_params["early_stop"] == "2"
    assert "8 training examples" in at.expander[0].label and "early stop 2" in at.expander[0].label
    at.number_input(key="train.train_size").set_value(None).run()  # emptied: fresh examples again
    assert "train_size" not in at.query_params and "training examples" not in at.expander[0].label
    bad = open_page(**dict(MEMORISING, train_size="-3", early_stop="soon"))
    notes = " ".join(plain_text(w.value) for w in bad.warning)
    assert "train_size must be off or a whole number from 1 to 100,000" in notes and "early_stop must be off" in notes, notes
    assert bad.number_input(key="train.train_size").value is None, "the preset's value: fresh examples"


def _early_stopped_run():
    import gc

    from transformer.runs.live import LiveRun

    return next(obj for obj in gc.get_objects() if type(obj) is LiveRun and obj.message.startswith("Stopped early"))


def test_an_early_stop_says_when_and_why_and_the_model_is_the_best_one(stop_live_runs):
    at = open_page(**MEMORISING)
    at.button(key="train.b.train").click().run()
    assert poll(at, finished, timeout=180), "the run did not end"
    [message] = [s.value for s in at.success]
    match = re.match(r"Stopped early at step (\d+): the validation loss had not improved for 2 evaluations; "
                     r"the weights from step (\d+) \(its best", message)
    assert match, message
    stopped, best = int(match.group(1)), int(match.group(2))
    assert best < stopped < 20_000
    progress = at.get("progress")[0].proto.text
    assert re.search(rf"Step {stopped} of 20,000 .* · 8 fixed examples, each seen [\d,]+×$", progress), progress
    # A batch of 64 from 8 examples takes each once: as many times seen as steps taken.
    assert int(re.search(r"each seen ([\d,]+)×", progress).group(1).replace(",", "")) == stopped
    run = _early_stopped_run()
    # The pages explore the restored weights: the last snapshot carries the best evaluation.
    evals = run.evals
    lowest = min(evals, key=lambda row: row["val_loss"])
    assert lowest["step"] == best
    assert run.latest().metrics["step"] == best
    assert run.latest().metrics["val_loss"] == pytest.approx(lowest["val_loss"], rel=1e-6)
    # and the page quotes the kept model's held-out accuracy, not the last evaluation's.
    assert f"The model kept gets {100 * lowest['seq_acc']:.1f} % of held-out answers right." in message
