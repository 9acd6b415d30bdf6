"""A file uploader whose file the server forgets as soon as the page has read it.

Streamlit keeps an uploaded file's bytes in the server's memory, in the session's storage, until
the person removes it from the widget or the session ends: a 45 MB checkpoint was still held more
than 6 minutes after its tab had closed, and thirty students' uploads add up. A checkpoint is
read once (the model built from it is what the pages use), so `take_upload` hands its bytes over
once, removes the file from Streamlit's upload storage (as Streamlit's own `st.chat_input` and
`st.audio_input` do once they have read theirs) and clears the widget by giving it a new key, so
the same bytes are never sent or kept again.

How big a file may be follows the one memory budget (`transformer.budget`): a checkpoint holds
4 bytes per parameter, and the largest model the budget lets this server train or load has
`memory_limit_bytes() / WEIGHT_COPIES` bytes of weights. `checkpoint_upload_mb` is that plus room
for the config, vocabulary and a character model's text. `server.maxUploadSize` in
.streamlit/config.toml is the same figure for the budget's default cap (8 GB: 1,655 MB), the
bound Streamlit's upload route enforces; the uploader tells the person this server's own figure.
"""
from __future__ import annotations

import math

import streamlit as st
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ..budget import MB, WEIGHT_COPIES, memory_limit_bytes

ROOM_MB = 16  # a checkpoint's config, vocabulary, metrics and a character model's training text


def checkpoint_upload_mb(limit_bytes: int | None = None) -> int:
    """MB a checkpoint of the largest model the memory budget allows can take (default: this
    server's budget, `memory_limit_bytes()`)."""
    limit = memory_limit_bytes() if limit_bytes is None else limit_bytes
    return math.ceil(limit / WEIGHT_COPIES / MB) + ROOM_MB


def _forget(file_id: str) -> None:
    """Drop an uploaded file's bytes from Streamlit's storage for this session."""
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "uploaded_file_mgr", None)
    # Only the in-memory manager (the one Streamlit runs with) can remove one file.
    if isinstance(manager, MemoryUploadedFileManager):
        manager.remove_file(session_id=ctx.session_id, file_id=file_id)


def take_upload(label: str, key: str, **kwargs) -> tuple[str, bytes] | None:
    """`st.file_uploader(label, **kwargs)` that returns (file name, bytes) once per upload, else None.

    The first widget has key `key` (tests can address it); each taken file moves the widget to
    `key.1`, `key.2`, ... so that it is drawn empty again. Rerun the page after using the bytes
    (`st.rerun()`), so the emptied widget is what the person sees.
    """
    taken = st.session_state.get(key + "#taken", 0)
    kwargs.setdefault("max_upload_size", min(checkpoint_upload_mb(), st.get_option("server.maxUploadSize")))
    upload = st.file_uploader(label, key=key if taken == 0 else f"{key}.{taken}", **kwargs)
    if upload is None:
        return None
    name, data = upload.name, upload.getvalue()
    _forget(upload.file_id)
    st.session_state[key + "#taken"] = taken + 1
    return name, data
