"""The Vision transformer page under AppTest: a real tiny ViT-vs-CNN race, its views, refusals.

AppTest does not tick `st.fragment(run_every=...)`, so tests poll with `at.run()`.
"""
from __future__ import annotations

import gc
from pathlib import Path

from conftest import open_apptest, rerun_until
from streamlit.testing.v1 import AppTest

from transformer.runs.race import RaceRun

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "vision_transformer.py")


def page() -> AppTest:
    return open_apptest(PAGE)


def poll(at: AppTest, done, timeout=240.0) -> None:
    assert rerun_until(at, done, timeout, interval=0.5), "the page did not get there in time"


def test_a_picture_that_does_not_cut_into_patches_is_one_sentence_and_start_is_off():
    at = page()
    at.number_input(key="vit.image_size").set_value(12)
    at.selectbox(key="vit.patch").set_value(8)
    at.run()
    assert not at.exception
    assert any("cannot be cut into 8x8 patches" in e.value for e in at.error)
    assert at.button(key="vit.start").disabled


def test_the_race_trains_both_models_and_the_views_follow_the_vit(stop_races):
    at = page()
    at.number_input(key="vit.steps").set_value(100)
    at.selectbox(key="vit.size").set_value("300 pictures")
    at.run()
    assert not at.button(key="vit.start").disabled
    at.button(key="vit.start").click().run()
    frames = lambda a: a.session_state["vit.frames"] if "vit.frames" in a.session_state else []  # noqa: E731
    poll(at, lambda a: len(frames(a)) >= 2)
    rows = at.dataframe[0].value
    assert list(rows["model"]) == ["ViT", "CNN"]
    vit, cnn = rows["parameters"]
    assert abs(vit - cnn) <= 0.1 * vit
    frame = frames(at)[-1]
    assert frame["maps"]["encoder.0.self_attn"].shape == (8, 4, 17, 17)  # 8 pictures, [CLS] + 16 patches
    assert [t.label for t in at.tabs][:2] == ["Patches", "[CLS] attention"]
    # At the end, the finished race adds its two points to the training-set-size figure.
    race = next(r for r in gc.get_objects() if type(r) is RaceRun)
    race.join(timeout=600)
    poll(at, lambda a: len(a.session_state["vit.sizes"]) == 1 if "vit.sizes" in a.session_state else False)
    (points,) = at.session_state["vit.sizes"].values()
    assert {p["arch"] for p in points} == {"ViT", "CNN"} and {p["train_size"] for p in points} == {300}
