"""A shared link or an upload cannot make the app show an outside link or image, or hold the file.

In headless Chromium against `streamlit run app.py`: what the browser really builds from the
Markdown the pages send (AppTest sees only the Markdown: tests/pages/test_page_hardening.py).
"""
from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = "[Session expired: sign in](https://example.org/login)"
IMAGE = "![beacon](https://example.org/beacon.png)"
FILE_NAME = "[Sign in](http:example.org)"  # a file's name cannot hold "/"; this is a link all the same
LOAD_TIMEOUT_MS = 120_000  # the first visit imports torch on a shared 2-core machine


def _outside(page) -> dict:
    """Links and images in the page that point at example.org."""
    return page.evaluate("""() => ({
        links: [...document.querySelectorAll('a[href*="example.org"]')].map(a => a.outerHTML),
        images: [...document.querySelectorAll('img[src*="example.org"]')].map(i => i.outerHTML),
    })""")


@pytest.mark.parametrize("path, query, shown", [
    ("train", {"task": LINK, "arch": IMAGE}, LINK),
    ("lessons", {"lesson": "**Your session expired.** " + LINK, "step": IMAGE}, "**Your session expired.** " + LINK),
    ("positional_encoding", {"base": LINK + " " + IMAGE}, LINK + " " + IMAGE),
])
def test_link_values_are_shown_as_text(page, open_app, streamlit_server, path, query, shown):
    asked = []
    page.on("request", lambda request: asked.append(request.url)
            if (urllib.parse.urlparse(request.url).hostname or "").endswith("example.org") else None)
    open_app(page, path, urllib.parse.urlencode(query), timeout_ms=LOAD_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    # The value appears literally (the word joiner that breaks autolinks is invisible).
    page.wait_for_function("(s) => document.querySelector('[data-testid=stMain]').innerText"
                           ".replaceAll('\\u2060', '').includes(s)", arg=shown, timeout=30_000)
    assert _outside(page) == {"links": [], "images": []}
    assert not main.locator("strong").filter(has_text="Your session expired").count()
    assert asked == [], f"the browser fetched {asked}"
    assert_no_exception(page, streamlit_server)


def _upload_bytes_held(server_url: str) -> float:
    """Bytes Streamlit's upload storage holds now, from its metrics endpoint (no figure: none)."""
    text = urllib.request.urlopen(f"{server_url}/_stcore/metrics", timeout=30).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(
        r'^cache_memory_bytes\{[^}]*cache_type="UploadedFileManager"[^}]*\}\s+(\S+)', text, re.M))


def _poll(condition, timeout_s: float = 60.0) -> bool:
    """Poll `condition()` (the metrics figure is cached for a few seconds) until true or timeout."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_an_uploaded_checkpoint_is_not_kept_once_loaded(page, open_app, streamlit_server, tmp_path):
    from transformer.build import build_model
    from transformer.checkpoint import checkpoint_bytes
    from transformer.tasks import get_task

    task = get_task("reverse", length=4)
    model = build_model(task.model_config("decoder", d_model=128, n_heads=2, n_layers=2, d_ff=256))
    file = tmp_path / f"{FILE_NAME}.pt"
    file.write_bytes(checkpoint_bytes(model, task))
    assert file.stat().st_size > 500_000
    open_app(page, "train", timeout_ms=LOAD_TIMEOUT_MS)
    page.get_by_text("Save or load a model").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Loaded").wait_for(timeout=60_000)
    wait_for_app(page, timeout_ms=LOAD_TIMEOUT_MS)
    assert_no_exception(page, streamlit_server)
    assert _outside(page) == {"links": [], "images": []}  # the file's name is text too
    size = file.stat().st_size
    assert _poll(lambda: _upload_bytes_held(streamlit_server.url) < size), "the upload is still held"
    # The uploader is empty again, ready for another file.
    assert not page.locator('[data-testid="stFileUploaderFile"]').count()
