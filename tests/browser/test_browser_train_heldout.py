"""Learning versus memorising on the Train page, in headless Chromium.

A tiny model trained on 8 fixed examples memorises them: its training and validation curves
are both drawn (the legend names each side), and early stopping ends the run with one sentence
on the page that says at which step and why, and which weights it kept.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import assert_no_exception, live_frame, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MEMORISING_LINK = ("task=reverse&arch=decoder&length=4&d_model=32&n_heads=2&n_layers=1&d_ff=64&steps=20000&seed=0"
                   "&train_size=8&early_stop=3&eval_every=10")


def _main(page):
    return page.locator('[data-testid="stMain"]')


def test_a_memorising_run_draws_both_sides_and_says_why_it_stopped_early(page, open_app, streamlit_server):
    open_app(page, "train", MEMORISING_LINK)
    expect(page.locator(".st-key-train-train_size input")).to_have_value("8")
    expect(page.locator(".st-key-train-early_stop input")).to_have_value("3")
    _main(page).get_by_role("button", name="Train", exact=True).click()
    page.locator(".st-key-train-progress").wait_for(timeout=60_000)

    # Both sides of the loss and of the accuracy are drawn, with the legend that names them.
    frame = live_frame(page, "train-curves", timeout_ms=60_000)
    frame.wait_for_function(
        "() => [...document.querySelectorAll('.legendtext')].map(e => e.textContent)"
        ".filter(t => t === 'training' || t === 'validation (held-out)').length >= 4",
        timeout=90_000,
    )
    legend = frame.locator(".legendtext").all_text_contents()
    assert legend.count("validation (held-out)") >= 2 and legend.count("training") >= 2, legend

    # Early stopping ends the run before its 20,000 steps, and says so on the page.
    stopped = _main(page).get_by_text(re.compile(r"^Stopped early at step [\d,]+"))
    stopped.wait_for(timeout=180_000)
    sentence = stopped.inner_text()
    assert "validation loss" in sentence and "restored" in sentence, sentence
    wait_for_app(page)
    progress = page.locator(".st-key-train-progress").inner_text()
    assert "of 20,000" in progress and not progress.startswith("Step 20,000"), progress
    assert_no_exception(page, streamlit_server)
