"""The live parts a lesson step can embed, by name: `WIDGETS[name](ctx)` draws one.

Each lesson file names a widget and its parameters (`transformer.course.WIDGET_SPECS` lists the
names and the parameters each accepts; a test keeps the two in step). The parts themselves are
in `lesson_computed` (worked examples and diagrams, instant) and `lesson_trained` (trained
models, training runs, measured comparisons).

`render_widget` never lets a part's failure reach the student as a traceback: a part that is not
built yet, or an input it refuses, becomes one sentence.
"""
from __future__ import annotations

import logging
from typing import Callable

import streamlit as st

from . import lesson_computed as computed
from . import lesson_generalisation as generalisation
from . import lesson_trained as trained
from .generation import output_layer_widget
from .lesson_vision import vision_race
from .lesson_context import _DRAWING, WidgetContext
from .text import plain

log = logging.getLogger(__name__)

__all__ = ["WIDGETS", "WidgetContext", "render_widget"]

WIDGETS: dict[str, Callable[[WidgetContext], None]] = {
    "embedding_space": trained.embedding_space,
    "rnn_unroll": computed.rnn_unroll,
    "race": trained.race,
    "vanishing_gradients": trained.vanishing_gradients,
    "step_time": trained.step_time,
    "attention_by_hand": computed.attention_by_hand,
    "softmax_scaling": computed.softmax_scaling,
    "attention_heatmap": trained.attention_heatmap,
    "head_grid": trained.head_grid,
    "order_lost": computed.order_lost,
    "positional_curves": computed.positional_curves,
    "positional_similarity": computed.positional_similarity,
    "rotary": computed.rotary,
    "block_diagram": computed.block_diagram,
    "causal_mask": computed.causal_mask,
    "date_cross_attention": trained.date_cross_attention,
    "training_curves": trained.training_curves,
    "lr_schedule": computed.lr_schedule,
    "quadratic_cost": computed.quadratic_cost,
    "image_patches": computed.image_patches,
    "train_preset": trained.train_preset,
    "output_layer": output_layer_widget,
    "overfitting_experiment": generalisation.overfitting_experiment,
    "data_appetite": generalisation.data_appetite,
    "transfer_experiment": generalisation.transfer_experiment,
    "vision_race": vision_race,
}


def render_widget(name: str, ctx: WidgetContext) -> bool:
    """Draw widget `name`; True when it drew without a problem.

    Never raises for the student: a missing part is a short note, a refused input its sentence,
    anything else one line (the traceback goes to the server log).
    """
    fn = WIDGETS.get(name)
    if fn is None:
        st.info(f"The live part “{name}” is not part of this version of the app.")
        return False
    token = _DRAWING.set(ctx)     # lets lesson_run / lesson_model mark the part as still pending
    try:
        fn(ctx)
        return True
    except ValueError as err:
        st.warning(plain(err))
    except Exception:  # noqa: BLE001 - a lesson must go on in front of a class
        log.exception("lesson widget %s failed", name)
        st.warning("This live part could not be drawn just now; the rest of the lesson works. "
                   "(The details are in the server log.)")
    finally:
        _DRAWING.reset(token)
    return False
