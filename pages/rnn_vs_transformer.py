"""RNN vs Transformer: race recurrent models against a transformer, then see why they differ.

The race trains a transformer and parameter-matched RNN / GRU / LSTM models on the same data in
one background thread (`transformer.runs.race.RaceRun`), and the curves refresh every two seconds. The
tabs below explain the result with measurements on the race's own models: step time against
length, gradient against distance, the LSTM's memory next to attention, the LSTM
encoder-decoder with and without attention on dates, and the complexity table.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from transformer.analysis.compare import (attention_map_mb, complexity_rows, cross_attention_map,
                                          gradient_by_distance, last_layer_attention, recurrent_states,
                                          step_time_by_length, task_at_length, task_length)
from transformer.config import POS_ENCODINGS
from transformer.decoding import predict
from transformer.figures import for_projector
from transformer.figures.attention import attention_heatmap
from transformer.figures.compare import (accuracy_by_length_figure, gradient_distance_figure, hidden_state_heatmap,
                                         race_curves, step_time_figure)
from transformer.runs.job import ACTIVE
from transformer.presets import RACE_PRESETS
from transformer.runs.race import (BUDGETS, RACE_ARCHS, RACE_TASKS, SHORT_NAMES, RaceEntry, RaceRun, check_budget,
                                   default_test_lengths, plan_race, race_task)
from transformer.tasks import MAX_INPUT_CHARS, TASKS, get_task, make_batch
from transformer.training import TrainConfig, initial_model
from transformer.ui.live_figures import live_figures
from transformer.ui.session import presenter_mode, session_runs
from transformer.ui.text import code, plain
from transformer.ui.state import KEEP, LinkedSettings, Setting, memo, show_notes
from transformer.ui.widgets import race_status, rerun_once_when_done

K = "rnn."
CHART = {"displaylogo": False}
BATCH_SIZE = 64
DATES_MODELS = ("lstm-seq2seq", "lstm-seq2seq-attn")
# The transformer is the tasks' preset size; recurrent widths are then matched to it.
SIZE_DEFAULTS = {"d_model": 64, "n_heads": 4, "t_layers": 2, "d_ff": 256, "pos": "sinusoidal", "rnn_layers": 1}
# Whole-number settings a link may carry: name -> (lowest, highest).
LINK_NUMBERS = {"length": (1, 64), "steps": (10, 5000), "seed": (0, 2**31 - 1), "d_model": (8, 1024),
                "n_heads": (1, 16), "t_layers": (1, 12), "d_ff": (8, 4096), "rnn_layers": (1, 4)}
# This page's slots in the session's run registry: the race, and the dates race of its last tab.
RACES = "race:"
MAIN, DATES = RACES + "main", RACES + "dates"


# --------------------------------------------------------------------------- settings

def _preset_values(key: str) -> dict:
    preset = RACE_PRESETS[key]
    return {"preset": key, "task": preset["task"], "length": preset["length"], "steps": preset["steps"],
            "models": list(preset.get("archs", RACE_ARCHS))}


def _apply_preset(key: str) -> None:
    for name, value in _preset_values(key).items():
        st.session_state[K + name] = value


# Every setting, in the link and kept across page switches; a preset implies its task, length,
# steps and models, so a link names them only where they differ from its preset.
FIRST = next(iter(RACE_PRESETS))
SETTINGS = LinkedSettings(K, [
    Setting("preset", FIRST, choices=tuple(RACE_PRESETS)),
    Setting("task", RACE_PRESETS[FIRST]["task"], choices=tuple(RACE_TASKS)),
    Setting("models", list(RACE_ARCHS), choices=tuple(RACE_ARCHS), many=True),
    Setting("pos", SIZE_DEFAULTS["pos"], choices=POS_ENCODINGS),
    *(Setting(name, SIZE_DEFAULTS.get(name, 0), lo, hi) for name, (lo, hi) in LINK_NUMBERS.items()),
], implied=lambda values: {k: v for k, v in _preset_values(values["preset"]).items() if k != "preset"})


def _eval_every(steps: int) -> int:
    """About 20 points per curve, and at least one every 25 steps so a long race still moves."""
    return max(5, min(25, steps // 20))


def _controls() -> None:
    """Draw the race's controls (their values live in st.session_state under K + name)."""
    st.selectbox("Preset", list(RACE_PRESETS), key=K + "preset", persist_state=KEEP,
                 format_func=lambda k: RACE_PRESETS[k]["title"],
                 on_change=lambda: _apply_preset(st.session_state[K + "preset"]))
    st.caption("**What to expect:** " + RACE_PRESETS[st.session_state[K + "preset"]]["story"])
    c1, c2, c3, c4 = st.columns([2, 1, 3, 1])
    task_name = c1.selectbox("Task", list(RACE_TASKS), key=K + "task", persist_state=KEEP,
                             format_func=lambda n: TASKS[n].title)
    unit = RACE_TASKS[task_name]["unit"]
    c2.number_input(f"length N ({unit})", *LINK_NUMBERS["length"], step=1, key=K + "length", persist_state=KEEP,
                    help="Training inputs are up to N long; afterwards every model is also tested on 2N.")
    c3.multiselect("Models", list(RACE_ARCHS), key=K + "models", persist_state=KEEP,
                   format_func=lambda a: SHORT_NAMES[a])
    c4.number_input("steps each", *LINK_NUMBERS["steps"], step=50, key=K + "steps", persist_state=KEEP)
    with st.expander("Model sizes, seed and budget"):
        a, b, c, d, e, f = st.columns(6)
        a.number_input("transformer d_model", *LINK_NUMBERS["d_model"], step=8, key=K + "d_model", persist_state=KEEP)
        b.number_input("heads", *LINK_NUMBERS["n_heads"], key=K + "n_heads", persist_state=KEEP)
        c.number_input("transformer layers", *LINK_NUMBERS["t_layers"], key=K + "t_layers", persist_state=KEEP)
        d.number_input("d_ff", *LINK_NUMBERS["d_ff"], step=32, key=K + "d_ff", persist_state=KEEP)
        e.selectbox("positions", POS_ENCODINGS, key=K + "pos", persist_state=KEEP)
        f.number_input("recurrent layers", *LINK_NUMBERS["rnn_layers"], key=K + "rnn_layers", persist_state=KEEP,
                       help="Their hidden size is chosen to match the transformer's parameters.")
        st.number_input("seed (same seed, same race)", *LINK_NUMBERS["seed"], key=K + "seed", persist_state=KEEP)
        cpu = BUDGETS["cpu"]
        st.caption(f"Budget on a CPU: at most {cpu['max_parameters']:,} parameters per model and "
                   f"{cpu['max_tokens_per_step']:,} tokens per step.")
    SETTINGS.sync_link()


def _summary() -> str:
    """The settings in one line: the folded panel's label."""
    v = st.session_state
    models = ", ".join(SHORT_NAMES[a] for a in v[K + "models"]) or "no models"
    return (f"**Race:** {TASKS[v[K + 'task']].title}, length {v[K + 'length']} · {models} · "
            f"{v[K + 'steps']} steps each · seed {v[K + 'seed']}")


def _settings(draw: bool = True) -> tuple[list[RaceEntry] | None, TrainConfig | None]:
    """The race's controls (when `draw`) and its plan: (entries, train config), or (None, None)
    with the reason shown."""
    if draw:
        _controls()
    v = st.session_state
    t_over = {"d_model": v[K + "d_model"], "n_heads": v[K + "n_heads"], "n_layers": v[K + "t_layers"],
              "d_ff": v[K + "d_ff"], "pos_encoding": v[K + "pos"]}
    try:
        task = race_task(v[K + "task"], v[K + "length"])
        entries = plan_race(task, v[K + "models"], t_over, v[K + "rnn_layers"])
        steps = int(v[K + "steps"])
        train = TrainConfig(steps=steps, batch_size=BATCH_SIZE, lr=3e-3, warmup=50, eval_every=_eval_every(steps),
                            seed=int(v[K + "seed"]), until_acc=0.99).validate()
        counts = check_budget(entries, BATCH_SIZE)
    except ValueError as err:
        st.error(str(err))
        return None, None
    if draw:
        st.dataframe([{"model": e.name, "width (d_model / hidden)": e.model_cfg.d_model,
                       "layers": e.model_cfg.n_layers, "parameters": counts[e.name]} for e in entries],
                     hide_index=True, key=K + "sizes")
        st.caption(f"Same data (seed {train.seed}), batch of {BATCH_SIZE}, AdamW at 3e-3 with warm-up and cosine "
                   f"decay, up to {steps} steps each; a model stops early at 99 % of answers right.")
    return entries, train


# --------------------------------------------------------------------------- the live race

def _start(entries, train) -> None:
    try:
        race = RaceRun(entries, train, test_lengths=default_test_lengths(entries[0].task))
    except ValueError as err:
        st.session_state[K + "error"] = str(err)
        return
    st.session_state.pop(K + "error", None)
    session_runs().put(MAIN, race, f"Race {entries[0].task.name}")
    race.start()


def _buttons(race: RaceRun | None, entries, train) -> None:
    status = race.status if race is not None else "idle"
    b1, b2, b3 = st.columns(3)
    if b1.button("Start the race", type="primary", disabled=entries is None, key=K + "start", width="stretch"):
        _start(entries, train)
        st.session_state[K + "fold"] = True  # the settings fold away at the rerun, before they are drawn
        st.rerun()
    paused = status == "paused"
    if b2.button("Resume" if paused else "Pause", disabled=status not in ("training", "paused"), key=K + "pause",
                 width="stretch"):
        if paused:
            race.resume()
        else:
            race.pause()
        st.rerun(scope="fragment")
    if b3.button("Stop", disabled=not session_runs().active(RACES), key=K + "stop", width="stretch",
                 help="Stops every model of every race on this page; what they learned is kept."):
        session_runs().stop(RACES)
        st.rerun()


def _curves(slot: str, evals: dict, xs=("step", "train_s"), title: str | None = None) -> dict:
    """{x: figure} of the race in `slot`, rebuilt only when an evaluation was added (building
    Plotly figures costs the training thread time: it shares the interpreter with this page)."""
    big = presenter_mode()

    def build() -> dict:
        figs = {x: race_curves(evals, x=x, title=title) for x in xs}
        return {x: for_projector(fig) for x, fig in figs.items()} if big else figs

    version = (session_runs().run_id(slot), tuple(len(rows) for rows in evals.values()), big)
    return memo(K + "curves." + slot, version, build)


def _race_view(entries, train) -> None:
    race = session_runs().get(MAIN)
    rerun_once_when_done(race, K + "ticking")
    _buttons(race, entries, train)
    if st.session_state.get(K + "error"):
        st.error(st.session_state[K + "error"])
    if race is None:
        st.info("Press **Start the race**: every model trains on the same examples, in turns, with the same "
                "optimizer; the curves appear here and refresh every two seconds.")
        return
    race_status(race)
    progress, evals, states = race.progress, race.evals, race.model_messages
    st.dataframe([{
        "model": name, "parameters": race.parameters[name], "step": p["step"],
        "own compute (s)": round(p["train_s"], 1),
        "sequence accuracy": round(evals[name][-1]["seq_acc"], 3) if evals[name] else None,
        "status": p["status"] + (f": {states[name]}" if states[name] else ""),
    } for name, p in progress.items()], hide_index=True, key=K + "progress")
    # Per step and per second of compute, redrawn in place at each evaluation (the reader's zoom stays).
    live_figures(_curves(MAIN, evals), key=K + "race-curves", columns=1)
    lengths = race.length_results
    if lengths:
        task = race.entries[race.names[0]].task
        n = default_test_lengths(task)
        st.plotly_chart(accuracy_by_length_figure(lengths, train_length=task_length(task),
                                                  length_label=f"input length ({RACE_TASKS[task.name]['unit']})"),
                        key=K + "c.len", config=CHART)
        st.dataframe([{"model": name, **{f"length {r['length']}": (round(r["seq_acc"], 3) if "seq_acc" in r else None)
                                         for r in rows}} for name, rows in lengths.items()], hide_index=True)
        st.caption(f"Trained on inputs up to {task_length(task)} long, tested on exactly {', '.join(map(str, n))}: "
                   "sequence accuracy on 256 examples drawn at random at each length (beyond the training length, new to "
                   "the models by construction). An empty cell: that model cannot read that length "
                   "(learned positions end at the training length).")


# --------------------------------------------------------------------------- the models the tabs explain

def _initial_models(plan: tuple, cfgs: dict, seed: int) -> dict:
    """{name: model at initialisation}, the weights the race starts from; they never change for
    one race (or one plan), so they are built once for it."""
    return memo(K + "initial", plan, lambda: {name: initial_model(cfg, seed).eval() for name, cfg in cfgs.items()})


def _analysis_models(entries) -> tuple[dict, dict, object, str, tuple]:
    """({name: trained model}, {name: model at initialisation}, task, caption, cache key).

    From the race when there is one (its weights at the latest evaluation), else the planned,
    untrained models: the architecture alone already shows much of the story. Cached until the
    race publishes new weights, so reruns of the page cost nothing.
    """
    race = session_runs().get(MAIN)
    if race is not None:
        evals = race.evals
        plan = ("race", session_runs().run_id(MAIN))
        key = (*plan, tuple(len(rows) for rows in evals.values()))
    elif entries:
        # Copy and reverse share vocabulary, lengths and preset: the task tells their plans apart.
        plan = key = ("plan", str(entries[0].task.to_dict()),
                      tuple(sorted((e.name, str(e.model_cfg.to_dict())) for e in entries)))
    else:
        return {}, {}, None, "", ()

    def models():
        if race is not None:
            task = race.entries[race.names[0]].task
            cfgs = {n: t.model_cfg for n, t in race.trainers.items()}
            seed, trained = race.train_cfg.seed, {n: race.model_copy(n) for n in race.names}
            steps = ", ".join(f"{n} {rows[-1]['step']}" for n, rows in evals.items() if rows)
            caption = f"The race's models on {task.title.lower()} (N = {task_length(task)}) at steps: {steps}."
        else:
            task, cfgs, seed, trained = entries[0].task, {e.name: e.model_cfg for e in entries}, 0, {}
            caption = "Untrained models (start a race to compare trained ones)."
        return trained, _initial_models(plan, cfgs, seed), task, caption

    return (*memo(K + "analysis", key, models), key)


def _refresh_note(caption: str, button_key: str) -> None:
    """The caption, and while the race runs a button that redraws with the newest weights
    (any button press reruns the page, and `_analysis_models` then sees new weights)."""
    race = session_runs().get(MAIN)
    if race is not None and race.status in ACTIVE:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.caption(caption + " The race goes on.")
        right.button("Use the newest weights", key=K + button_key)
    else:
        st.caption(caption)


def _probe_batch(task, n: int, seed: int):
    fixed = task_at_length(task, task_length(task))
    return make_batch(fixed, fixed.examples(n, seed), "lm")


def _gradient_tab(entries) -> None:
    st.markdown("How much does the loss at the **last answer token** change when we nudge the input "
                "*k* tokens earlier? The size of that gradient, on a log scale, against *k*. Through a recurrence "
                "the signal is multiplied at every step by a Jacobian, the recurrent matrix scaled by the "
                "activation's slope (diag(1 − h²)·W for tanh); when those factors are below 1 it shrinks "
                "geometrically (Bengio et al. 1994); the LSTM's additive cell path slows the fall; attention reaches every "
                "position in one step.")
    trained, initial, task, caption, key = _analysis_models(entries)
    if task is None:
        st.info("Pick at least one model above.")
        return
    batch = memo(K + "probe", task, lambda: _probe_batch(task, 32, seed=4321))
    pick = [n for n in initial if n in ("Transformer", "RNN", "LSTM", "GRU")]
    # The same starting weights give the same "before": only "after" follows the race.
    before = memo(K + "grads.before", initial, lambda: {
        n: gradient_by_distance(initial[n], batch.idx, batch.targets) for n in pick})
    after = memo(K + "grads.after", key, lambda: {
        n: gradient_by_distance(trained[n], batch.idx, batch.targets) for n in pick if n in trained})
    left, right = st.columns(2)
    left.plotly_chart(gradient_distance_figure(before, title="At initialisation: the architecture alone"),
                      key=K + "c.grad0", config=CHART)
    if after:
        right.plotly_chart(gradient_distance_figure(after, title="After training: what each model learned to use"),
                           key=K + "c.grad1", config=CHART)
    else:
        right.info("Start a race to see the trained models here.")
    _refresh_note(caption + " Mean over 32 examples; distance 0 is the answer position itself.", "refresh-grad")


def _memory_tab(entries) -> None:
    st.markdown("**Left:** the recurrent model's memory. Each row is one unit of its state, each column the "
                "moment after reading that token: a colour held along a row is something kept; a sudden change "
                "is a write or a forget. **Right:** the transformer keeps no state at all: each row shows which "
                "earlier tokens that position reads, directly, however far back.")
    trained, initial, task, caption, _ = _analysis_models(entries)
    models = trained or initial
    recurrent = next((n for n in ("LSTM", "GRU", "RNN") if n in models), None)
    if task is None or recurrent is None:
        st.info("Add an LSTM, GRU or RNN to the race to see its memory.")
        return
    batch = _probe_batch(task, 6, seed=99)
    row = st.slider("example", 0, 5, 0, key=K + "mem_row")
    idx, tokens = batch.idx[row:row + 1], batch.tokens[row]
    memory = recurrent_states(models[recurrent], idx)
    left, right = st.columns(2)
    with left:
        what = "hidden"
        if "cell" in memory:
            what = st.radio("LSTM state", ("cell", "hidden"), horizontal=True, key=K + "mem_state",
                            format_func=lambda w: {"cell": "cell c (its memory)", "hidden": "hidden h (what it shows)"}[w])
        states = memory[what]
        st.plotly_chart(hidden_state_heatmap(
            states, tokens, value_label=what,
            title=f"{recurrent} {what} state over time"), key=K + "c.mem", config=CHART)
    with right:
        if "Transformer" not in models:
            st.info("Add the Transformer to the race to compare its attention.")
        else:
            weights = last_layer_attention(models["Transformer"], idx)         # (H, T, T)
            head = st.selectbox("head", ["mean of heads", *range(weights.shape[0])], key=K + "mem_head")
            w = weights.mean(0) if head == "mean of heads" else weights[head]
            st.plotly_chart(attention_heatmap(
                w, tokens, allowed=np.tril(np.ones(w.shape, dtype=bool)),
                title="Transformer, last layer: attention instead of a state"),
                key=K + "c.att", config=CHART)
    _refresh_note(caption + " Both read the same input; only the first 64 units of the state are drawn.",
                  "refresh-mem")


def _parallel_tab(entries) -> None:
    st.markdown("A recurrent layer must finish token *t* before it can start token *t + 1*: its sequential steps "
                "grow with the length. Attention handles all positions in one matrix product, but compares every "
                "pair of tokens, so its score matrices grow with the **square** of the length.")
    busy = bool(session_runs().active(RACES))
    go = st.button("Measure on this machine (about 20 s)", disabled=busy or not entries, key=K + "measure",
                   help="Times a full training step (forward, backward, AdamW) at several lengths.")
    if busy:
        st.caption("Wait for the race to end: measured times would include its work.")
    if go:
        cfgs = {e.name: e.model_cfg for e in entries}
        with st.spinner("Timing training steps at lengths 16, 32, 64 and 128…"):
            measured = step_time_by_length(cfgs, (16, 32, 64, 128), batch_size=16, repeats=2)
        attn = {n: [attention_map_mb(c, 16, t) for t in (16, 32, 64, 128)] for n, c in cfgs.items()
                if not c.is_recurrent}
        st.session_state[K + "timing"] = (measured, attn, {e.name: e.model_cfg.arch for e in entries})
    timing = st.session_state.get(K + "timing")
    if timing:
        measured, attn, archs = timing
        recurrent = [n for n, a in archs.items() if a != "decoder"]
        st.plotly_chart(step_time_figure(measured, attention_mb=attn, recurrent=recurrent), key=K + "c.time",
                        config=CHART)
        st.caption("Batch of 16, median of 2 steps after a warm-up, measured on this machine now (other work on it "
                   "makes the numbers noisy). On a CPU with a few cores both times grow with the length: there is "
                   "little parallel hardware for attention to fill, so its advantage here is small. On a GPU, with "
                   "thousands of cores, a transformer's step time can stay nearly flat as the length grows while a "
                   "recurrent model's grows with every extra sequential step (left). Dashed: the size of the "
                   "attention weights of one step; PyTorch's fused attention computes them in tiles and never "
                   "keeps them all, which is why the measured memory grows only linearly.")


def _complexity_tab() -> None:
    timing = st.session_state.get(K + "timing")
    if timing:
        measured, _, archs = timing
        rows = complexity_rows({archs[n]: r for n, r in measured.items()}, labels=SHORT_NAMES)
    else:
        rows = complexity_rows()
    st.table(rows)
    st.caption("n = sequence length, d = width. Self-attention costs more per layer when n > d but needs no "
               "sequential steps and connects any two tokens directly (Vaswani et al. 2017, Table 1)."
               + ("" if timing else " Measure on the *Parallelism* tab to add this machine's numbers."))


# --------------------------------------------------------------------------- from recurrence to attention

ATTN_NAME = SHORT_NAMES["lstm-seq2seq-attn"]


def _start_dates(steps: int) -> None:
    task = get_task("dates")
    entries = [RaceEntry(SHORT_NAMES[a], task, task.model_config(a)) for a in DATES_MODELS]
    try:
        race = RaceRun(entries, TrainConfig(steps=steps, batch_size=BATCH_SIZE, lr=3e-3, warmup=50,
                                            eval_every=_eval_every(steps), until_acc=0.99))
    except ValueError as err:
        st.session_state[K + "dates_error"] = str(err)
        return
    st.session_state.pop(K + "dates_error", None)
    session_runs().put(DATES, race, "Race dates (LSTMs)")
    race.start()


def _alignment(race: RaceRun) -> None:
    task = race.entries[ATTN_NAME].task
    text = st.text_input("A date to translate", "22 Nov 2026", key=K + "date", max_chars=MAX_INPUT_CHARS)
    try:
        src = task.parse(text)
    except ValueError as err:
        st.error(plain(err))
        return
    answers = {}
    for name in race.names:
        answers[name] = predict(race.model_copy(name), task, [src])[0]
    expected = task.solve(src)
    for name, pred in answers.items():
        verdict = "right" if pred == expected else f"wrong (expected {code(task.format_tgt(expected))})"
        st.markdown(f"**{name}** writes {code(task.format_tgt(pred) or '(nothing)')} — {verdict}")
    vocab = task.vocab
    weights = cross_attention_map(race.model_copy(ATTN_NAME), vocab.encode(src),
                                  [vocab.bos_id] + vocab.encode(answers[ATTN_NAME]))  # (T, S)
    outputs = (answers[ATTN_NAME] + ["<eos>"])[: weights.shape[0]]
    st.plotly_chart(attention_heatmap(
        weights, outputs, src,
        title="Additive attention: for each output character (row), where the decoder looked in the source"),
        key=K + "c.align", config=CHART)
    st.caption("Rows: the characters the attention model wrote; columns: the source. Year digits should align "
               "in order, the day jumps back to the start, and both month digits look at the month word. "
               "The model without attention has no such map: all it gets is the encoder's final state.")


def _dates_view() -> None:
    race = session_runs().get(DATES)
    rerun_once_when_done(race, K + "dates_ticking")
    if st.session_state.get(K + "dates_error"):
        st.error(st.session_state[K + "dates_error"])
    if race is None:
        return
    progress, evals = race.progress, race.evals
    st.caption(f"**{race.status.capitalize()}.** " + " · ".join(
        f"{n} ({race.parameters[n]:,} parameters): step {p['step']}, {100 * evals[n][-1]['seq_acc']:.0f} % right"
        for n, p in progress.items() if evals[n]))
    live_figures(_curves(DATES, evals, xs=("step",), title="The same LSTMs, with and without attention"),
                 key=K + "dates-curves", columns=1)
    if race.status not in ACTIVE:
        _alignment(race)


def _dates_tab() -> None:
    st.markdown("Before transformers, translation used an LSTM **encoder-decoder** (Sutskever et al. 2014): the "
                "decoder starts from the encoder's final state and never sees the source again. Bahdanau et al. "
                "(2015) let every decoder step look back at all encoder states with learned weights — "
                "*additive attention*. The transformer keeps the attention and drops the recurrence. Both models "
                "below have the same hidden size; attention adds its own weights and a wider decoder input. "
                "Expect the attention model to get every date right in fewer steps (about 150 against 250), "
                "though each of its steps costs more: its decoder's input needs the previous state, so it cannot run "
                "as one fused call over the whole answer.")
    race = session_runs().get(DATES)
    active = race is not None and race.status in ACTIVE
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    steps = left.number_input("steps each", 10, 5000, 600, step=50, key=K + "dates_steps")
    if right.button("Train both on dates", disabled=active, key=K + "dates_start",
                    help="Both LSTM encoder-decoders, same size and data, on the same examples."):
        _start_dates(int(steps))
        st.rerun()
    st.session_state[K + "dates_ticking"] = active
    st.fragment(_dates_view, run_every=2.0 if active else None)()


# --------------------------------------------------------------------------- the page

st.title("RNN vs Transformer")
st.markdown("Recurrent networks read one token at a time and carry a memory; a transformer looks at every "
            "token at once. Race them on the same task with the same number of parameters, then see why one "
            "wins — and where it does not.")
show_notes(SETTINGS.start())
# Open until a race starts, then folded to one line, so the progress and the curves come into
# view; drawn only while open (the widgets keep their values, persist_state, while it is folded).
if st.session_state.pop(K + "fold", False):
    st.session_state[K + "settings_open"] = False
settings = st.expander(_summary(), expanded=True, key=K + "settings_open", on_change="rerun")
with settings:
    planned, train_cfg = _settings(draw=settings.open)
main_race = session_runs().get(MAIN)
active = main_race is not None and main_race.status in ACTIVE
st.session_state[K + "ticking"] = active
# Every 2 s: often enough to watch, rarely enough that redrawing leaves the race its CPU.
st.fragment(_race_view, run_every=2.0 if active else None)(planned, train_cfg)

st.header("Why?")
# Only the open tab is computed and drawn: all five made a switch to this page take 1.4 s.
WHY = {  # tab label -> (container key, what draws it)
    "Parallelism": ("tab-parallel", lambda: _parallel_tab(planned)),
    "Vanishing gradients": ("tab-gradients", lambda: _gradient_tab(planned)),
    "Memory": ("tab-memory", lambda: _memory_tab(planned)),
    "Recurrence → attention": ("tab-dates", _dates_tab),
    "Complexity": ("tab-complexity", _complexity_tab),
}
for tab, (key, draw) in zip(st.tabs(list(WHY), key=K + "why", on_change="rerun"), WHY.values()):
    with tab.container(key=key):
        if tab.open:
            draw()
