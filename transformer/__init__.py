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
    training.py    the training loop; snapshot.py, live.py: training in the background
    checkpoint.py, devices.py, cli.py, bench.py

Only torch, numpy and the standard library are imported here; `transformer.figures` (Plotly)
and `transformer.ui` (Streamlit) sit on top and are imported explicitly.
"""
from .build import build_model, count_parameters
from .capture import capture
from .config import ARCHS, ModelConfig

__all__ = ["ARCHS", "ModelConfig", "build_model", "capture", "count_parameters"]
