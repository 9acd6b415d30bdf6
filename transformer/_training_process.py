"""Set-up of the fork server that starts `LiveRun`'s training processes; imported only there.

`transformer.live` asks multiprocessing's fork server to import this module once, so every
training process it forks starts with PyTorch and the library already loaded (milliseconds
instead of seconds).

It also stops the children from re-creating their parent's `__main__` module, which a child of
a fork server does before anything else. In the app the parent is a Streamlit server, whose
`__main__` during a script run is the page being drawn: a training process would run that page
again. Training needs nothing from `__main__`, so the children skip the step. Python has no
public switch for it; tests/test_private_patches.py fails if `multiprocessing.spawn.prepare`
stops calling the two functions replaced here.
"""
import importlib
import multiprocessing.spawn as _spawn

# What a training process uses: the trainer, the tasks, and decoding (snapshots grade answers).
for _name in ("transformer.live", "transformer.tasks", "transformer.decoding"):
    importlib.import_module(_name)


def _skip_main(_name_or_path: str) -> None:
    return None


_spawn._fixup_main_from_name = _skip_main
_spawn._fixup_main_from_path = _skip_main
