"""The Generate page in a real browser: the sampling sliders redraw the distribution in the page,
with the library's numbers and without a message to the server; released, they drive sampling."""
from __future__ import annotations

import pytest
import torch

from conftest import assert_no_exception, wait_for_app
from transformer import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.decoding import generation_trace
from transformer.runs.snapshot import as_question
from transformer.sampling import next_token_distribution
from transformer.tasks import get_task

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = ".tlab-sampling .tlab-s-row"
MOVE_JS = """([label, value, event]) => {
    const input = document.querySelector(`.tlab-sampling input[aria-label="${label}"]`)
        || [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
              .map(r => r.querySelector(`.tlab-sampling input[aria-label="${label}"]`)).find(Boolean);
    input.value = String(value);
    input.dispatchEvent(new Event(event, {bubbles: true}));
}"""


def tiny_charlm():
    task = get_task("charlm")
    torch.manual_seed(0)
    return build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32)).eval(), task


def after_probs(page) -> dict:
    """token -> probability after the settings, as the page's bars show them."""
    rows = page.locator(ROWS)
    return {rows.nth(i).get_attribute("data-token"): float(rows.nth(i).get_attribute("data-after"))
            for i in range(rows.count())}


def expected(logits, task, **settings) -> dict:
    probs = next_token_distribution(logits, **settings)
    return {t: float(probs[i]) for i, t in enumerate(task.vocab.tokens)}


def move(page, label: str, value, event: str = "input") -> None:
    page.evaluate(MOVE_JS, [label, value, event])


@pytest.mark.timeout(420)
def test_sampling_sliders_redraw_in_the_browser_and_then_drive_the_generation(page, open_app, streamlit_server,
                                                                              tmp_path):
    model, task = tiny_charlm()
    file = tmp_path / "tiny-charlm.pt"
    file.write_bytes(checkpoint_bytes(model, task))
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    open_app(page, "train", timeout_ms=120_000)
    page.get_by_text("Save or load a model").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Loaded").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("link", name="Generate").click()  # in the app: the session keeps its model
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("tab", name="Sampling").wait_for(timeout=120_000)
    main.get_by_role("tab", name="Sampling").click()
    page.locator(ROWS).first.wait_for(timeout=60_000)
    wait_for_app(page)
    assert_no_exception(page, streamlit_server)

    src = as_question(task, task.examples(6, seed=7, split="val")[0]).src
    logits = generation_trace(model, task, src, max_new_tokens=1)[0].logits.clone()
    logits[sorted(task.vocab.special_ids)] = float("-inf")  # the character model never writes these
    shown = after_probs(page)
    want = expected(logits, task)
    assert all(abs(p - want[t]) < 1e-4 for t, p in shown.items())

    # Moving a slider (input events only, as while it is dragged) redraws the bars in the page:
    # the numbers are the library's, and nothing goes to the server.
    page.wait_for_timeout(1500)
    sent.clear()
    move(page, "temperature T", 0.5)
    move(page, "top-k", 3)
    page.wait_for_function("() => [...document.querySelectorAll('*')].some(e => e.shadowRoot && "
                           "e.shadowRoot.querySelectorAll('.tlab-s-row.tlab-s-cut').length > 0) || "
                           "document.querySelectorAll('.tlab-s-row.tlab-s-cut').length > 0", timeout=10_000)
    shown = after_probs(page)
    want = expected(logits, task, temperature=0.5, top_k=3)
    assert sum(p > 0 for p in shown.values()) == 3
    assert all(abs(p - want[t]) < 1e-4 for t, p in shown.items())
    move(page, "top-p (nucleus)", 0.5)  # the nucleus, measured after top-k, as the library does
    want = expected(logits, task, temperature=0.5, top_k=3, top_p=0.5)
    page.wait_for_function("(n) => [...document.querySelectorAll('*')].filter(e => e.shadowRoot).some(e => "
                           "e.shadowRoot.querySelectorAll('.tlab-s-row.tlab-s-cut').length === n)",
                           arg=sum(1 for t in after_probs(page) if want[t] == 0), timeout=10_000)
    shown = after_probs(page)
    assert all(abs(p - want[t]) < 1e-4 for t, p in shown.items())
    move(page, "temperature T", 0)  # greedy: everything on the most likely token
    page.wait_for_function("() => [...document.querySelectorAll('*')].filter(e => e.shadowRoot).some(e => "
                           "e.shadowRoot.querySelector('.tlab-s-row[data-after=\"1\"]'))", timeout=10_000)
    shown = after_probs(page)
    want = expected(logits, task, temperature=0.0)
    assert all(abs(p - want[t]) < 1e-6 for t, p in shown.items())
    move(page, "temperature T", 0.5)
    move(page, "top-p (nucleus)", 1)
    page.wait_for_timeout(1000)
    assert sent == [], "moving a slider sent a message to the server"

    # Released, the settings reach the server: sampling above now draws with them.
    move(page, "top-k", 3, "change")
    wait_for_app(page)
    main.get_by_text("sample", exact=True).click()
    wait_for_app(page)
    assert_no_exception(page, streamlit_server)
    trace = generation_trace(model, task, src, max_new_tokens=40, temperature=0.5, top_k=3, seed=0)
    written = main.locator(".tlab-g-written").inner_text().rstrip()  # the text may end in a written newline
    assert written.endswith("".join(s.token for s in trace).rstrip())
