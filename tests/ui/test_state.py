"""transformer/ui/state.py through AppTest: link values checked with a note shown as text, settings
that survive a page switch, only non-default values in the link, and a memo that recomputes only
when its inputs change."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from transformer.ui.state import Setting, read_link
from transformer.ui.text import plain


def _app():
    """Two pages: one with two linked settings (a number and a choice), and another one."""
    import streamlit as st

    from transformer.ui.state import KEEP, LinkedSettings, Setting, show_notes

    view = LinkedSettings("t.", [Setting("n", 4, 2, 10, step=2), Setting("mode", "a", choices=("a", "b"))])

    def settings_page():
        show_notes(view.start())
        st.number_input("n", 2, 10, step=2, key="t.n", persist_state=KEEP)
        st.selectbox("mode", ("a", "b"), key="t.mode", persist_state=KEEP)
        view.sync_link()
        if st.button("to the other page", key="go"):
            st.switch_page(other)

    def other_page():
        st.write("the other page")
        if st.button("back", key="back"):
            st.switch_page(first)

    first = st.Page(settings_page, title="settings", url_path="settings", default=True)
    other = st.Page(other_page, title="other", url_path="other")
    st.navigation([first, other]).run()


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_function(_app, default_timeout=30)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()


def _link(at: AppTest) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_link_value_outside_its_range_is_ignored_with_a_note_shown_as_text():
    at = _open({"n": "12", "mode": "**b**"})
    assert not at.exception
    assert at.number_input(key="t.n").value == 4 and at.selectbox(key="t.mode").value == "a"
    notes = [w.value for w in at.warning]
    assert len(notes) == 2
    assert any(plain("n=12: it must be an even number from 2 to 10") in n for n in notes)
    assert any(r"\*\*b\*\*" in n for n in notes)  # Markdown from a link is escaped, never bold
    at = _open({"n": "8", "mode": "b"})
    assert at.number_input(key="t.n").value == 8 and at.selectbox(key="t.mode").value == "b"
    assert not at.warning


def test_a_value_survives_a_page_switch():
    at = _open()
    at.number_input(key="t.n").set_value(6).run()
    at.selectbox(key="t.mode").set_value("b").run()
    at.button(key="go").click().run()
    assert not at.number_input and any("the other page" in m.value for m in at.markdown)
    at.button(key="back").click().run()
    assert not at.exception
    assert at.number_input(key="t.n").value == 6 and at.selectbox(key="t.mode").value == "b"


def test_only_values_that_differ_from_the_default_go_into_the_link():
    at = _open()
    assert _link(at) == {}
    at.number_input(key="t.n").set_value(6).run()
    assert _link(at) == {"n": "6"}
    at.selectbox(key="t.mode").set_value("b").run()
    at.number_input(key="t.n").set_value(4).run()  # back to the default: out of the link again
    assert _link(at) == {"mode": "b"}


def _memo_app():
    import streamlit as st

    from transformer.ui.state import memo

    def compute():
        st.session_state["computed"] = st.session_state.get("computed", 0) + 1
        return st.session_state["x"] ** 2

    st.number_input("x", 0, 100, key="x")
    st.write(f"square {memo('square', st.session_state['x'], compute)}")


def test_memo_recomputes_only_when_its_inputs_change():
    at = AppTest.from_function(_memo_app).run()
    assert at.session_state["computed"] == 1
    at.run()
    at.run()
    assert at.session_state["computed"] == 1  # reruns with the same input reuse the result
    at.number_input(key="x").set_value(7).run()
    assert at.session_state["computed"] == 2 and any("square 49" in m.value for m in at.markdown)
    at.run()
    assert at.session_state["computed"] == 2


def test_a_list_setting_keeps_the_known_choices_of_a_link():
    models = Setting("models", ["a"], choices=("a", "b", "c"), many=True)
    assert read_link({"models": "c,x,a"}, [models]) == ({"models": ["c", "a"]}, [])
    values, notes = read_link({"models": "x,y"}, [models])
    assert values == {} and "comma-separated list of a, b, c" in notes[0]


def _memo_keep_app():
    import streamlit as st

    from transformer.ui.state import memo

    def compute():
        st.session_state["computed"] = st.session_state.get("computed", 0) + 1
        return -st.session_state["x"]

    st.number_input("x", 0, 100, key="x")
    st.write(f"negative {memo('neg', st.session_state['x'], compute, keep=2)}")


def test_memo_with_keep_returns_to_an_earlier_input_without_recomputing():
    at = AppTest.from_function(_memo_keep_app).run()  # x = 0
    at.number_input(key="x").set_value(1).run()
    at.number_input(key="x").set_value(0).run()  # kept: no third computation
    assert at.session_state["computed"] == 2 and any("negative 0" in m.value for m in at.markdown)
    at.number_input(key="x").set_value(2).run()  # a third input pushes out the oldest (0)
    at.number_input(key="x").set_value(1).run()
    assert at.session_state["computed"] == 3
    at.number_input(key="x").set_value(0).run()
    assert at.session_state["computed"] == 4
