"""Presenter mode through AppTest: the `?presenter=1` link, the switch that must win over a stale
URL, one "Controls" expander per lesson widget, and a locked prediction shown as text.

The layout at 1280x720 (nothing clipped, the Train page's curves in one screen) is measured in a
real browser: tests/browser/test_browser_presenter.py.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = "../../app.py"  # relative to this file, as AppTest resolves it
LESSONS_PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "lessons.py")


def _shell():
    """What app.py does around a page: the link first, the switch, the URL mirrored at the end."""
    import streamlit as st

    from transformer.ui.sidebar import mirror_presenter, presenter_from_link

    presenter_from_link()
    st.toggle("Presenter mode", key="presenter_mode")
    st.query_params["page_setting"] = "x"  # a page's own parameter, which must survive
    mirror_presenter()


def _query(at: AppTest) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_link_turns_presenter_mode_on_and_the_switch_can_turn_it_off_again():
    at = AppTest.from_function(_shell)
    at.query_params["presenter"] = "1"
    at.run()
    assert at.toggle(key="presenter_mode").value is True
    assert _query(at).get("presenter") == "1" and _query(at).get("page_setting") == "x"
    # The URL still says presenter=1 when the switch is turned off: the switch wins.
    at.toggle(key="presenter_mode").set_value(False).run()
    assert at.toggle(key="presenter_mode").value is False
    assert "presenter" not in _query(at)
    at.run()
    assert at.toggle(key="presenter_mode").value is False
    # And on again: the URL says so, for a link that reopens the projector view.
    at.toggle(key="presenter_mode").set_value(True).run()
    assert _query(at).get("presenter") == "1"


def test_presenter_0_in_a_link_and_no_link_leave_it_off():
    for query in ({"presenter": "0"}, {}):
        at = AppTest.from_function(_shell)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert at.toggle(key="presenter_mode").value is False
        assert "presenter" not in _query(at)


def test_the_app_folds_the_sidebar_and_enlarges_the_text_from_a_link():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["presenter"] = "1"
    at.run()
    assert not at.exception
    assert at.toggle(key="presenter_mode").value is True
    assert "font-size: 21px" in " ".join(h.proto.body for h in at.get("html"))


def _two_control_blocks():
    import streamlit as st

    from transformer.ui.lesson_context import WidgetContext

    ctx = WidgetContext(presenter=st.session_state.get("test.presenter", True), key="t")
    with ctx.controls():
        st.text_input("an input", key="t.input")
    st.caption("between the two")
    with ctx.controls():
        st.selectbox("a head", [0, 1], key="t.head")


def test_a_widget_with_two_control_blocks_gets_one_controls_expander():
    at = AppTest.from_function(_two_control_blocks).run()
    assert [e.label for e in at.expander] == ["Controls"]
    [expander] = at.expander
    assert len(expander.text_input) == 1 and len(expander.selectbox) == 1
    # Without presenter mode the controls stay in the page, no expander.
    at = AppTest.from_function(_two_control_blocks)
    at.session_state["test.presenter"] = False
    at.run()
    assert not at.expander and len(at.text_input) == 1 and len(at.selectbox) == 1


def test_a_locked_prediction_is_plain_text_not_a_disabled_radio():
    at = AppTest.from_file(LESSONS_PAGE, default_timeout=120)
    at.session_state["presenter_mode"] = True
    at.query_params["lesson"] = "attention"
    at.query_params["step"] = "2"
    at.run()
    key = "lessons.predict.attention.1"
    at.radio(key=key).set_value("cat").run()
    at.button(key=f"{key}.lock").click().run()
    assert not at.exception
    assert not [r for r in at.radio if r.disabled], "the locked answer must not be a greyed-out radio"
    assert any(m.value == ":material/lock: Locked in: **cat**" for m in at.markdown)


def test_the_train_curves_for_the_projector_keep_their_height_and_grow_their_text():
    from transformer.figures import FONT_SIZE, for_projector
    from transformer.figures.presenter import GRID_HEIGHT, for_projector_grid
    from transformer.figures.training import accuracy_figure, loss_figure

    fig = loss_figure([0, 1, 2], [2.0, 1.0, 0.5])
    assert for_projector_grid(fig) is fig
    assert fig.layout.height == GRID_HEIGHT
    assert fig.layout.font.size > FONT_SIZE and fig.layout.xaxis.tickfont.size > FONT_SIZE - 2
    assert fig.layout.legend.y >= 1, "the legend stays in its row above the plot"
    assert fig.layout.yaxis.title.text == "cross-entropy<br>(nats / answer token)"  # unit on a line of its own
    # Enlarged once: neither it again nor theme.for_projector grows it further.
    before = fig.to_plotly_json()["layout"]
    for_projector_grid(fig)
    for_projector(fig)
    assert fig.to_plotly_json()["layout"] == before
    assert for_projector_grid(accuracy_figure([0], [0.5])).layout.yaxis.title.text == "accuracy (%)"  # short: one line
