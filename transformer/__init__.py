"""Transformer Lab's library: a small, complete transformer and its teaching tools.

Read it like a book, small parts first:
    config.py      ModelConfig, the one description of every model
    attention.py   scaled dot-product attention, multi-head attention, masks
    positional.py  sinusoidal, learned, rotary and no positional encoding
    blocks.py      feed-forward network, encoder and decoder blocks
    models.py      decoder-only, encoder-decoder and encoder-only transformers
    recurrent.py   RNN, GRU and LSTM baselines; an LSTM encoder-decoder with attention
    build.py       build_model(cfg)
    capture.py     named activations (attention maps, q/k/v, hidden states)
    decoding.py    greedy, temperature and top-k generation
    tasks/         the teaching tasks and their vocabularies
    training.py    the training loop; snapshot.py: what a run publishes
    runs/          training in the background: limiter, job control, LiveRun, worker
    checkpoint.py, devices.py, cli.py, bench.py

The core uses only torch, numpy and the standard library; `transformer.figures` (Plotly) and
`transformer.ui` (Streamlit) sit on top and are imported explicitly.

The names below load on first use (PEP 562), so importing a torch-free part such as
`transformer.config` or the app's sidebar does not load PyTorch (2-3 s on a cold server).
"""
from __future__ import annotations

import importlib

_EXPORTS = {  # name -> the module that defines it
    "ARCHS": ".config",
    "ModelConfig": ".config",
    "build_model": ".build",
    "count_parameters": ".build",
}
# `capture` is not among them: `transformer.capture` is its module, and a lazily loaded function
# of the same name would be replaced by the module as soon as anything imported it. Use
# `from transformer.capture import capture`.
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
