"""Learning vs memorising: three live experiments on held-out data.

Overfitting and its cures, how much data each model needs, and transfer learning. Each is a
seeded plan from `transformer.analysis.generalisation`, trained in one background thread by
the race machinery of the RNN vs Transformer page (`transformer.runs.race.RaceRun`); the page
asks for a prediction first, draws the curves live, and states the result only from the run
on screen.
"""
from __future__ import annotations

import streamlit as st

from transformer.analysis.generalisation import (APPETITE, FINETUNED, OVERFIT, PLANS, PRETRAIN, TRANSFER,
                                                 appetite_points, overfitting_table, transfer_result)
from transformer.figures import for_projector
from transformer.figures.generalisation import experiment_figures
from transformer.runs.job import ACTIVE
from transformer.runs.race import RaceRun
from transformer.ui.live_figures import live_figures
from transformer.ui.session import presenter_mode, session_runs
from transformer.ui.state import memo
from transformer.ui.text import plain
from transformer.ui.widgets import race_status, rerun_once_when_done

K = "gen."
SLOTS = "generalise:"  # this page's slots in the session's run registry, one per experiment
# A short run (a quarter of the steps) for a slow machine, a quick look, or a test; from the
# link too (?length=short), so a teacher can send it.
LENGTHS = {"full": 1.0, "short": 0.25}

EXPERIMENTS = {
    "overfitting": {
        "tab": "1 · Overfitting and its cures",
        "intro": (f"A transformer learns two-digit addition from only **{OVERFIT['small']} fixed sums**, shown again "
                  f"and again for {{steps}} steps. Beside it, the same run with one cure each: dropout "
                  f"{OVERFIT['dropout']:g} (random units silenced while training), weight decay "
                  f"{OVERFIT['weight_decay']:g} (weights pulled towards zero), early stopping (patience "
                  f"{OVERFIT['patience']} evaluations, best weights kept), and **{OVERFIT['more']:,} sums** instead "
                  f"of {OVERFIT['small']}. Blue: its own training sums. Vermillion: held-out sums it never saw."),
        "predict": "Which change will get the most new sums right?",
        "options": ("Dropout", "Weight decay", "Early stopping", f"Ten times the data ({OVERFIT['more']:,} sums)",
                    "None: they will all end about the same"),
    },
    "appetite": {
        "tab": "2 · How much data?",
        "intro": ("The sentiment task (\"the movie was not good\" → negative) with "
                  f"{', '.join(f'{n:,}' for n in APPETITE['sizes'])} labelled sentences, "
                  "the same number of steps for each: a transformer and an LSTM with about the same number of "
                  "parameters. Each point is one finished run, its accuracy on held-out sentences."),
        "predict": (f"As the training set grows from {APPETITE['sizes'][0]:,} to {APPETITE['sizes'][-1]:,} sentences, "
                    "which model gains more?"),
        "options": ("The LSTM: reading in order is a head start", "The transformer",
                    f"Neither: with {APPETITE['sizes'][0]:,} sentences both already know the task"),
    },
    "transfer": {
        "tab": "3 · Transfer learning",
        "intro": (f"First a decoder reads unlabelled reviews and learns to predict the next word "
                  f"({{pretrain_steps}} steps, no labels at all). In these reviews, as in most real ones, the two "
                  f"things said about a work lean the same way (\"the movie was great i love this film\"), so "
                  f"guessing the rest rewards knowing which words praise and which complain. Then it is fine-tuned "
                  f"on only "
                  f"**{TRANSFER['labelled']} labelled sentences**, beside the same model trained on those "
                  f"{TRANSFER['labelled']} sentences from random weights. Same seed, same examples, same steps."),
        "predict": f"With {TRANSFER['labelled']} labelled sentences, how will the pre-trained model compare?",
        "options": ("Clearly better than the one from scratch", "About the same: the labels are what count",
                    "Worse: next-word prediction is a different task and gets in the way"),
    },
}


def _scale() -> float:
    return LENGTHS.get(st.session_state.get(K + "length", "full"), 1.0)


def _plan(key: str):
    scale = _scale()
    seed = int(st.session_state.get(K + "seed", 0))
    if key == "overfitting":
        return PLANS[key](seed, steps=max(20, int(OVERFIT["steps"] * scale)))
    if key == "appetite":
        return PLANS[key](seed, steps=max(20, int(APPETITE["steps"] * scale)))
    return PLANS[key](seed, pretrain_steps=max(20, int(TRANSFER["pretrain_steps"] * scale)),
                      finetune_steps=max(20, int(TRANSFER["finetune_steps"] * scale)))


def _start(key: str) -> None:
    plan = _plan(key)
    try:
        race = RaceRun(plan.entries, plan.train_cfg)
    except ValueError as err:
        st.session_state[K + "error"] = str(err)
        return
    st.session_state.pop(K + "error", None)
    session_runs().put(SLOTS + key, race, plan.title)
    st.session_state[K + "plan." + key] = plan
    race.start()


def _figures(key: str, race: RaceRun) -> dict:
    """{name: figure} of the experiment's curves, rebuilt only when an evaluation was added."""
    plan = st.session_state.get(K + "plan." + key)
    evals = race.evals
    big = presenter_mode()

    def build() -> dict:
        finished = [n for n, status in race.model_status.items() if status == "finished"]
        figs = experiment_figures(plan, evals, finished, key=K + key)
        return {n: for_projector(f) for n, f in figs.items()} if big else figs

    version = (session_runs().run_id(SLOTS + key), tuple(len(rows) for rows in evals.values()),
               tuple(race.model_status.values()), big)
    return memo(K + "figs." + key, version, build)


def _progress(race: RaceRun) -> None:
    progress, messages = race.progress, race.model_messages
    st.dataframe([{"run": name, "step": f"{p['step']} / {p['total']}", "status": p["status"] +
                   (f": {messages[name]}" if messages[name] else "")} for name, p in progress.items()],
                 hide_index=True, key=K + "progress")


def _points(difference: float) -> str:
    """A difference of two accuracies (0-1) in percentage points, rounded: "1 point", "12 points"."""
    n = round(abs(100 * difference))
    return f"{n} point" if n == 1 else f"{n} points"


def _reveal(key: str, race: RaceRun) -> None:
    """The prediction beside what this run measured (only numbers from its own rows)."""
    guess = st.session_state.get(K + "predict." + key)
    if guess:
        st.markdown(f"**You predicted:** {plain(guess)}")
    evals = race.evals
    if key == "overfitting":
        table = overfitting_table(evals)
        st.dataframe([{"run": r["run"], "final step": r["step"], "training sums right": f"{r['train_acc']:.0%}",
                       "new sums right": f"{r['val_acc']:.0%}", "gap (points)": f"{100 * r['gap']:.0f}"}
                      for r in table], hide_index=True, key=K + "table")
        base, best = table[0], max(table, key=lambda r: r["val_acc"])
        st.markdown(f"**This run:** from its {OVERFIT['small']} sums the baseline got {base['train_acc']:.0%} of its "
                    f"training sums right and {base['val_acc']:.0%} of new ones: a gap of "
                    f"{_points(base['gap'])}, memorised rather than learned. The most new sums right: "
                    f"**{best['run']}**, {best['val_acc']:.0%}.")
        stopped = race.model_messages.get("+ early stopping", "")
        if stopped.startswith("Stopped early"):
            st.caption(stopped)
    elif key == "appetite":
        plan = st.session_state[K + "plan." + key]
        points = appetite_points(plan, evals, list(evals))
        lines = []
        for model, pts in points.items():
            lines.append(f"**{model}**: " + ", ".join(f"{p['val_acc']:.0%} with {p['size']:,}" for p in pts))
        st.markdown("**This run:** accuracy on held-out sentences  \n" + "  \n".join(lines))
        if len(points) == 2:
            (m1, p1), (m2, p2) = points.items()
            gain1, gain2 = p1[-1]["val_acc"] - p1[0]["val_acc"], p2[-1]["val_acc"] - p2[0]["val_acc"]
            st.markdown(f"From {p1[0]['size']:,} to {p1[-1]['size']:,} sentences the {m1} changed by "
                        f"{100 * gain1:+.0f} points and the {m2} by {100 * gain2:+.0f}.")
    else:
        result = transfer_result(evals)
        if result is None:
            st.info("The run stopped before both models trained: start it again to compare them.")
            return
        better = "better" if result["difference"] > 0 else "worse"
        st.markdown(f"**This run:** after {result['finetuned_step']} fine-tuning steps on "
                    f"{TRANSFER['labelled']} labelled sentences, the pre-trained model got "
                    f"**{result['finetuned']:.0%}** of held-out sentences right and the one from scratch "
                    f"**{result['scratch']:.0%}**: {_points(result['difference'])} {better}.")
        if FINETUNED in race.transfers:
            st.caption(race.transfers[FINETUNED])


def _view(key: str) -> None:
    race = session_runs().get(SLOTS + key)
    rerun_once_when_done(race, K + "ticking")
    if race is None:
        st.info("Make your prediction, then press **Run the experiment**: the curves appear here and refresh "
                "every two seconds.")
        return
    race_status(race, "experiment", finished="Every run has finished.")
    _progress(race)
    live_figures(_figures(key, race), key=K + "curves-" + key, columns=1)
    if race.status == "finished":
        _reveal(key, race)


def _experiment(key: str) -> None:
    spec = EXPERIMENTS[key]
    plan = _plan(key)
    steps = {e.name: (e.train_cfg or plan.train_cfg).steps for e in plan.entries}
    st.markdown(spec["intro"].format(steps=plan.train_cfg.steps, pretrain_steps=steps.get(PRETRAIN)))
    race = session_runs().get(SLOTS + key)
    active = race is not None and race.status in ACTIVE
    st.radio(spec["predict"], spec["options"], index=None, key=K + "predict." + key, disabled=active,
             help="Commit to an answer before you run it: the result is shown beside your prediction.")
    b1, b2 = st.columns(2)
    if b1.button(f"Run the experiment ({len(plan.entries)} runs, {plan.total_steps:,} steps in all)", type="primary",
                 key=K + "start." + key, disabled=active, width="stretch"):
        _start(key)
        st.rerun()
    if b2.button("Stop", key=K + "stop." + key, disabled=not active, width="stretch",
                 help="Stops this experiment; the curves so far stay."):
        session_runs().stop(SLOTS + key)
        st.rerun()
    if st.session_state.get(K + "error"):
        st.error(plain(st.session_state[K + "error"]))
    st.session_state[K + "ticking"] = active
    # Every 2 s: often enough to watch, rarely enough that redrawing leaves the runs their CPU.
    st.fragment(_view, run_every=2.0 if active else None)(key)


# --------------------------------------------------------------------------- the page

st.title("Learning vs memorising")
st.markdown("A model that gets its training examples right may only have memorised them. Every curve here is "
            "measured twice: on the examples the model trains on, and on **held-out** examples it never sees "
            "while training. Only the second says whether it learned the task.")
if st.query_params.get("length") in LENGTHS and K + "length" not in st.session_state:
    st.session_state[K + "length"] = st.query_params["length"]
with st.expander("Seed and length of the runs"):
    c1, c2 = st.columns(2)
    c1.number_input("seed (same seed, same experiment)", 0, 2**31 - 1, key=K + "seed")
    c2.selectbox("length of each run", list(LENGTHS), key=K + "length",
                 format_func=lambda n: "full" if n == "full" else "short: a quarter of the steps")
for tab, key in zip(st.tabs([e["tab"] for e in EXPERIMENTS.values()], key=K + "tab", on_change="rerun"), EXPERIMENTS):
    with tab.container(key=K + "tab-" + key):
        if tab.open:
            _experiment(key)
