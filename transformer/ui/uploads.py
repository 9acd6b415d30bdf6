"""A file uploader whose file the server forgets as soon as the page has read it.

Streamlit keeps an uploaded file's bytes in the server's memory, in the session's storage, until
the person removes it from the widget or the session ends: a 45 MB checkpoint was still held more
than 6 minutes after its tab had closed, and thirty students' uploads add up. A checkpoint is
read once (the model built from it is what the pages use), so `take_upload` hands its bytes over
once, removes the file from Streamlit's upload storage (as Streamlit's own `st.chat_input` and
`st.audio_input` do once they have read theirs) and clears the widget by giving it a new key, so
the same bytes are never sent or kept again.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx


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
    upload = st.file_uploader(label, key=key if taken == 0 else f"{key}.{taken}", **kwargs)
    if upload is None:
        return None
    name, data = upload.name, upload.getvalue()
    _forget(upload.file_id)
    st.session_state[key + "#taken"] = taken + 1
    return name, data
