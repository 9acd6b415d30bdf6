"""Embedding spaces: where a trained model puts its tokens, and how context moves them.

Sections: the token (or position) table projected to 2-D/3-D and filmed over training with one
fixed PCA basis; contextual embeddings of a typed input, layer by layer; nearest neighbours
and a cosine-similarity matrix; vector arithmetic; and the "space of words" on the sentiment
task. The model is the session's current one (`ensure_model_widget`), rebuilt from snapshots.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import streamlit as st

from transformer.config import ARCH_LABELS
from transformer.figures import embeddings as figs
from transformer.analysis.inspection import hidden_states
from transformer.positional import sinusoidal_encoding
from transformer.analysis.projection import (
    cosine_similarity_matrix,
    nearest_neighbours,
    polarity_axis,
    project_frames,
    token_groups,
    vector_arithmetic,
)
from transformer.tasks import MAX_INPUT_CHARS, get_task
from transformer.ui.text import code, plain
from transformer.ui.widgets import ensure_model_widget, start_preset_run

MAX_FRAMES = 30  # frames sent to the browser; the first and last are always kept
CONTEXT_DEFAULTS = {"sentiment": "the movie was not good but the acting was great"}
ARITHMETIC_DEFAULTS = [  # (a, b, c): "a is to b as c is to ?", the first that fits the vocabulary
    ("bad", "good", "boring"), ("Jan", "Feb", "Mar"), ("1", "2", "5"), ("a", "A", "e"), ("a", "b", "c"),
]
COSINE_DEFAULTS = {
    "sentiment": ["good", "great", "brilliant", "bad", "awful", "boring", "not", "never", "movie", "book"],
    "dates": ["Jan", "Feb", "Mar", "Jun", "Dec", "1", "2", "9", "0", "-"],
}


def _groups(task, tokens: list[str]) -> list[str]:
    """Colour groups: the sentiment task's own word lists, label tokens apart."""
    if task.name == "sentiment":
        from transformer.tasks import sentiment as S

        groups = token_groups(tokens, positive=set(S.POSITIVE + S.LIKE), negative=set(S.NEGATIVE + S.DISLIKE))
        # Every token here is a word: "a" and "i" are words, not letters.
        return ["label" if t in S.LABELS else "word" if g == "letter" else g for t, g in zip(tokens, groups)]
    return token_groups(tokens)


def _thin(frames: list, names: list) -> tuple[list, list]:
    if len(frames) <= MAX_FRAMES:
        return frames, names
    keep = np.unique(np.linspace(0, len(frames) - 1, MAX_FRAMES).round().astype(int))
    return [frames[i] for i in keep], [names[i] for i in keep]


def _position_frames(model, snapshots):
    """(frames, names, note) for the position table, or (None, None, why there is none)."""
    cfg = model.cfg
    if cfg.is_recurrent:
        return None, None, (f"A {ARCH_LABELS.get(cfg.arch, cfg.arch)} reads tokens one after another, so order is "
                            "built into its loop: it has no position vectors to show.")
    if cfg.pos_encoding == "learned":
        frames = [s.pos_table for s in snapshots if s.pos_table is not None]
        if not frames:
            frames = [model.pos.table.weight.detach().numpy()]
        names = [str(s.step) for s in snapshots if s.pos_table is not None] or ["now"]
        return frames, names, "Learned positions: a trained vector per position."
    if cfg.pos_encoding == "sinusoidal":
        pe = sinusoidal_encoding(cfg.max_len, cfg.d_model).numpy()
        return [pe], ["fixed"], "Sinusoidal positions are fixed, not trained: the same curve before and after training."
    if cfg.pos_encoding == "rope":
        return None, None, ("This model uses rotary positions (RoPE): nothing is added to the token vectors; "
                            "queries and keys are rotated inside attention, so there is no position table.")
    return None, None, ("This model has no positional encoding at all: there is no position table. "
                        "See the Positional encoding page for what it can still learn.")


# --------------------------------------------------------------------------- page

st.title("Embedding spaces")
st.markdown(
    "A model turns every token into a vector of d_model numbers. Training moves those vectors so that "
    "tokens the task treats alike move the same way (in large models trained for long, they end up close "
    "together). We cannot see d_model dimensions, so we "
    "project them onto the two or three directions along which they differ most (PCA)."
)
current = ensure_model_widget(task_default="sentiment", arch_default="encoder", key="emb.model")
if current is None:
    st.stop()
model, task, snapshots = current.model, current.task, current.snapshots
tokens = list(task.vocab.tokens)
groups = _groups(task, tokens)
words = [t for t, g in zip(tokens, groups) if g not in ("special", "label")]

st.header("1 · The embedding table")
c1, c2, c3 = st.columns(3)
table = c1.radio("table", ["tokens", "positions"], horizontal=True, key="emb.table")
n_dims = 3 if c2.radio("projection", ["2-D", "3-D"], horizontal=True, key="emb.dims") == "3-D" else 2
hide_specials = c3.checkbox("leave out special tokens", value=True, key="emb.hide_specials",
                            help="<pad>, <bos>, ... are used differently from the task's own tokens and can "
                                 "stretch the picture.")
st.caption(
    "PCA, not t-SNE: PCA is one SVD of the table (no extra library), keeps straight lines and distances "
    "along its axes, and lets every frame share one basis. t-SNE would need scikit-learn, which the app "
    "does not ship, and re-fits each frame, so points would jump."
)
if table == "tokens":
    keep = [i for i, g in enumerate(groups) if not (hide_specials and g == "special")] or list(range(len(tokens)))
    frames = [np.asarray(s.embeddings)[keep] for s in snapshots] or [model.tok_emb.weight.detach().numpy()[keep]]
    names = [str(s.step) for s in snapshots] or ["now"]
    labels, point_groups, note = [tokens[i] for i in keep], [groups[i] for i in keep], None
    if len(frames) > 1:
        # A small model trained for seconds moves its random vectors only a little (sentiment preset:
        # mean length 7.9, mean change 0.46), so the raw table hardly moves: by default draw what
        # training changed, E_t - E_0, where the structure is (as lesson 1 does).
        start_norm = float(np.linalg.norm(frames[0], axis=1).mean())
        change = float(np.linalg.norm(frames[-1] - frames[0], axis=1).mean())
        changed = st.radio("draw", ["what training changed (each vector minus its random start)",
                                    "the vectors themselves"], horizontal=True, key="emb.delta").startswith("what")
        st.caption(f"Average length of a vector at the start {start_norm:.1f}, average change during training "
                   f"{change:.2f}: the vectors themselves hardly move, so the film shows the change unless you "
                   "switch.")
        if changed:
            frames = [f - frames[0] for f in frames]
else:
    frames, names, note = _position_frames(model, snapshots)
    if frames is not None:
        labels = [str(p) for p in range(len(frames[0]))]
        point_groups = ["position"] * len(labels)
if frames is None:
    st.info(note)
else:
    if note:
        st.caption(note)
    frames, names = _thin(frames, names)
    coords, basis = project_frames(frames, n_dims)  # one basis: the newest frame's axes
    shown = ", ".join(f"PC{i + 1} {100 * e:.0f}%" for i, e in enumerate(basis.explained))
    if len(frames) > 1:
        st.plotly_chart(figs.embedding_animation_figure(coords, names, labels, point_groups, basis.explained),
                        key="emb.film")
        st.caption(f"{len(frames)} snapshots, projected on the axes of the newest one (variance shown: {shown}). "
                   "Press Play to watch training move the vectors, or drag the slider.")
    else:
        st.plotly_chart(figs.embedding_scatter_figure(coords[0], labels, point_groups, basis.explained),
                        key="emb.scatter")
        # One frame: fixed positions (the note above says so), or a checkpoint without a history.
        st.caption(f"Variance shown: {shown}." if note else
                   f"Variance shown: {shown}. An uploaded checkpoint has no training history, so there is no film.")
    if basis.explained.sum() < 0.3:
        st.caption(f"These {n_dims} axes hold only {100 * basis.explained.sum():.0f}% of the table's variance: most "
                   "of its structure lies along other directions, so a flat picture shows little of it."
                   + (" Section 5 looks along one direction chosen for its meaning instead."
                      if task.name == "sentiment" else ""))

st.header("2 · Contextual embeddings: the same token in two contexts")
st.markdown(
    "The table gives a token one vector wherever it occurs. After each layer, attention has mixed in the "
    "other tokens, so the *same* token in two places becomes two different vectors."
)
default_text = CONTEXT_DEFAULTS.get(task.name) or task.format_src(task.examples(1, seed=1)[0].src)
text = st.text_input("an input for the model (repeat a token to see it split)", value=default_text,
                     key=f"emb.text.{task.name}", max_chars=MAX_INPUT_CHARS)
layers = []
try:
    src = task.parse(text)
except ValueError as err:
    st.error(plain(err))
else:
    if not src:  # a text model takes an empty prompt (it writes from nothing), but has no states for it
        st.info("Type at least one character: the model needs tokens to read before it has states to show.")
    else:
        try:
            seq_tokens, layers = hidden_states(model, task, src)
        except ValueError:
            st.info(f"A {ARCH_LABELS.get(model.cfg.arch, model.cfg.arch)} does not record its states layer by "
                    "layer, so there are no contextual embeddings to show: train a transformer or an RNN/GRU/LSTM.")
if layers:
    count = Counter(seq_tokens)
    point_labels = [f"{t}·{i}" for i, t in enumerate(seq_tokens)]
    point_groups = [f"'{t}' ×{count[t]}" if count[t] > 1 else "other" for t in seq_tokens]
    states = [a[0, : len(seq_tokens)] for _, a in layers]  # row 0, (T, d) per layer
    coords, basis = project_frames(states, n_dims, fit_on="all")
    st.plotly_chart(figs.embedding_animation_figure(
        coords, [n for n, _ in layers], point_labels, point_groups, basis.explained, start=0, frame_label="layer",
        title="Each token after each layer (token·position): one token, several places"),
        key="emb.context")
    repeated = [t for t in dict.fromkeys(seq_tokens) if count[t] > 1]
    if repeated:
        rows = {}
        for t in repeated[:6]:
            first, second = [i for i, s in enumerate(seq_tokens) if s == t][:2]
            rows[f"'{t}' at {first} and {second}"] = [
                round(float(cosine_similarity_matrix(s[first][None], s[second][None])[0, 0]), 3) for s in states]
        st.dataframe({"pair": list(rows), **{n: [v[j] for v in rows.values()] for j, (n, _) in enumerate(layers)}},
                     hide_index=True)
        st.caption("Cosine similarity of the two occurrences after each layer (1 = the same vector). At the "
                   "embedding only the position vector tells them apart (with rotary or no positions they are "
                   "identical there); every layer then mixes in what surrounds each occurrence.")
    else:
        st.caption("No token occurs twice in this input: repeat one to see it land in two places.")

st.header("3 · Nearest neighbours and cosine similarity")
E = model.tok_emb.weight.detach().double().numpy()  # (V, d)
defaults = [t for t in COSINE_DEFAULTS.get(task.name, []) if t in tokens] or words[:10]
chosen = st.multiselect("tokens to compare", tokens, default=defaults, key=f"emb.chosen.{task.name}",
                        max_selections=30)
left, right = st.columns([3, 2])
if len(chosen) >= 2:
    rows = [tokens.index(t) for t in chosen]
    left.plotly_chart(figs.cosine_matrix_figure(cosine_similarity_matrix(E[rows]), chosen), key="emb.cosine")
else:
    left.info("Choose at least two tokens to compare.")
others = [t for t in tokens if t not in words] if words else []  # specials and labels: not answers
query_options = words or tokens
query = right.selectbox("neighbours of", query_options, key=f"emb.query.{task.name}",
                        index=query_options.index(defaults[0]) if defaults[0] in query_options else 0)
most = max(1, len(query_options) - 1)
k = right.slider("how many", 1, max(2, min(15, most)), min(8, most), key="emb.k")
right.plotly_chart(figs.neighbours_figure(query, nearest_neighbours(E, tokens, query, k=k, exclude=others)),
                   key="emb.neighbours")

st.header("4 · Vector arithmetic")
st.markdown(
    "word2vec's famous *king − man + woman ≈ queen*: if one direction of the space means one thing, adding "
    "it to another token should land near the matching token. A small model learns such directions only "
    "where its task forces them (polarity in sentiment, order among months or digits), so expect noise."
)
a_def, b_def, c_def = next(((a, b, c) for a, b, c in ARITHMETIC_DEFAULTS if {a, b, c} <= set(words)),
                           tuple((words * 3)[:3]) if words else (tokens[0],) * 3)
options = words or tokens
c1, c2, c3 = st.columns(3)
a = c1.selectbox("a", options, index=options.index(a_def), key=f"emb.a.{task.name}")
b = c2.selectbox("is to b", options, index=options.index(b_def), key=f"emb.b.{task.name}")
c = c3.selectbox("as c is to ?", options, index=options.index(c_def), key=f"emb.c.{task.name}")
if len({a, b, c}) < 3:
    st.info("Pick three different tokens.")
else:
    answers = vector_arithmetic(E, tokens, a, b, c, k=5, exclude=others)
    # Tokens may come from a person (a character model's text): shown as text (transformer.ui.text).
    st.markdown(f"**{plain(b)} − {plain(a)} + {plain(c)}** is nearest to: " + ", ".join(
        f"{code(t)} ({s:.2f}, {groups[tokens.index(t)]})" for t, s in answers))

st.header("5 · The space of words")
if task.name == "sentiment":
    from transformer.tasks import sentiment as S

    idx = [tokens.index(t) for t in words]
    pos = [i for i, t in enumerate(words) if t in S.POSITIVE + S.LIKE]
    neg = [i for i, t in enumerate(words) if t in S.NEGATIVE + S.DISLIKE]
    scores, separation = polarity_axis(E[idx], pos, neg)
    st.plotly_chart(figs.polarity_figure(scores, words, [groups[i] for i in idx], separation), key="emb.polarity")
    st.caption(
        f"The axis runs from the mean of the negative words to the mean of the positive ones. {100 * separation:.0f}% "
        "of the sentiment words fall on their own side of an axis built without them (50% is chance). Nobody told "
        "the model which words are positive: it found the direction because the task needs it. Negations and "
        "nouns sit near the middle."
    )
else:
    st.info(
        f"The space of words needs word-level tokens with meanings; '{task.name}' has "
        f"{task.vocab.unit}-level tokens, whose groups are in the map above. The sentiment task has words."
    )
    seconds = get_task("sentiment").preset("encoder").seconds
    label = f"Train the sentiment preset (about {seconds:.0f} s; replaces the current model)"
    if st.button(label, key="emb.sentiment"):
        start_preset_run("sentiment", "encoder")
        st.rerun()
