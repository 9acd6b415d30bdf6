// The frontend of transformer.ui.sampling: temperature, top-k and top-p reshape a next-token
// distribution the server computed once, here in the browser, at every move of a slider.
// The same rules as transformer.decoding.next_token_distribution (a browser test compares the
// two): softmax(z / T) (T = 0: all mass on the argmax), then keep the k most likely tokens (ties
// by index), then the smallest set, most likely first, whose renormalised mass reaches p (at
// least one token), and renormalise. When a slider is released the settings go to the server
// (a state value), where the step-through generation below samples with them.
// Streamlit's components v2: the default export is called at mount and when `data` changes.

const BITS = Math.LN2;

function softmax(z, T) {
  const V = z.length;
  let best = 0;
  for (let i = 1; i < V; i++) if (z[i] > z[best]) best = i;
  if (T <= 0) return z.map((_, i) => (i === best ? 1 : 0));
  const m = z[best];
  const e = z.map((v) => Math.exp((v - m) / T));  // shifted by the max: no overflow
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

// Indices by probability, largest first; equal probabilities in index order.
function ranked(p) {
  return p.map((_, i) => i).sort((a, b) => (p[b] - p[a]) || (a - b));
}

export function distribution(z, T, k, topP) {
  let p = softmax(z, T);
  const order = ranked(p);
  const keep = new Array(p.length).fill(true);
  if (k > 0 && k < p.length) order.slice(k).forEach((i) => { keep[i] = false; });
  let mass = order.filter((i) => keep[i]).reduce((a, i) => a + p[i], 0);
  if (topP < 1) {
    let cum = 0;
    let reached = false;
    for (const i of order) {
      if (!keep[i]) continue;
      if (reached) { keep[i] = false; continue; }
      cum += p[i] / mass;
      if (cum >= topP - 1e-12) reached = true;
    }
    mass = order.filter((i) => keep[i]).reduce((a, i) => a + p[i], 0);
  }
  return p.map((v, i) => (keep[i] ? v / mass : 0));
}

export function entropyBits(p) {
  return p.reduce((h, v) => (v > 0 ? h - v * Math.log(v) : h), 0) / BITS;
}

// A small seeded generator (mulberry32), so "draw" is the same for the same seed.
function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;  // text only: a token is never read as HTML
  return node;
}

function slider(label, min, max, step, value, help) {
  const wrap = el("label", "tlab-s-control");
  const head = el("span", "tlab-s-label");
  head.append(el("span", "", label), el("b", "tlab-s-value"));
  const input = el("input");
  Object.assign(input, { type: "range", min, max, step, value });
  input.setAttribute("aria-label", label);
  wrap.append(head, input, el("span", "tlab-s-help", help));
  return { wrap, input, value: head.querySelector(".tlab-s-value") };
}

function pct(v) {
  return v >= 0.9995 ? "100%" : v < 0.0005 ? (v > 0 ? "<0.1%" : "0%") : (100 * v).toFixed(1) + "%";
}

// The sliders where the person left them: new data (the next snapshot of a training run, another
// step) redraws the bars but must not move a slider out from under a hand.
function current(root) {
  const value = (label) => root.querySelector(`input[aria-label="${label}"]`)?.value;
  const t = value("temperature T");
  return t === undefined ? null
    : { temperature: Number(t), top_k: Number(value("top-k")), top_p: Number(value("top-p (nucleus)")) };
}

function build(root, data, setStateValue) {
  const kept = current(root);
  root.replaceChildren();
  root.classList.toggle("tlab-s-large", !!data.large);
  const V = data.logits.length;
  const s = kept || data.settings || {};
  const controls = el("div", "tlab-s-controls");
  const temp = slider("temperature T", 0, 2, 0.05, s.temperature ?? 1, "0 = always the most likely");
  const topk = slider("top-k", 0, V, 1, s.top_k ?? 0, "keep the k most likely (0 = all)");
  const topp = slider("top-p (nucleus)", 0.05, 1, 0.05, s.top_p ?? 1, "keep the smallest set with this mass");
  controls.append(temp.wrap, topk.wrap, topp.wrap);
  const summary = el("div", "tlab-s-summary");
  const legend = el("div", "tlab-s-legend");
  legend.append(el("span", "tlab-s-key tlab-s-before"), el("span", "", "before (T = 1, nothing cut) "),
                el("span", "tlab-s-key tlab-s-after"), el("span", "", "after these settings"));
  const rows = el("div", "tlab-s-rows");
  const before = softmax(data.logits, 1);
  const shown = ranked(before).slice(0, data.shown || 15);
  const rowEls = shown.map((i) => {
    const row = el("div", "tlab-s-row");
    row.dataset.token = data.tokens[i];
    const bars = el("div", "tlab-s-bars");
    const b = el("div", "tlab-s-bar tlab-s-before");
    const a = el("div", "tlab-s-bar tlab-s-after");
    b.style.width = (100 * before[i]) + "%";
    bars.append(b, a);
    const num = el("span", "tlab-s-num");
    row.append(el("span", "tlab-s-tok", data.labels[i]), bars, num);
    rows.append(row);
    return { i, row, a, num };
  });
  const drawRow = el("div", "tlab-s-draw");
  const drawButton = el("button", "", "Draw 40 tokens with these settings");
  const drawn = el("span", "tlab-s-drawn");
  drawRow.append(drawButton, drawn);
  root.append(controls, summary, legend, rows, drawRow);
  let draws = 0;
  let after = before;

  function settings() {
    return { temperature: Number(temp.input.value), top_k: Number(topk.input.value), top_p: Number(topp.input.value) };
  }
  function redraw() {
    const st = settings();
    temp.value.textContent = st.temperature === 0 ? "0 (greedy)" : st.temperature.toFixed(2);
    topk.value.textContent = st.top_k === 0 ? "off" : String(st.top_k);
    topp.value.textContent = st.top_p >= 1 ? "off" : st.top_p.toFixed(2);
    after = distribution(data.logits, st.temperature, st.top_k, st.top_p);
    for (const r of rowEls) {
      r.a.style.width = (100 * after[r.i]) + "%";
      r.row.dataset.after = String(after[r.i]);
      r.row.classList.toggle("tlab-s-cut", after[r.i] === 0);
      r.num.textContent = pct(before[r.i]) + " → " + (after[r.i] === 0 ? "cut" : pct(after[r.i]));
    }
    const kept = after.filter((v) => v > 0).length;
    summary.dataset.entropyAfter = String(entropyBits(after));
    summary.textContent = `Entropy ${entropyBits(before).toFixed(2)} bits → ${entropyBits(after).toFixed(2)} bits · ` +
      `${kept} of ${V} tokens can be drawn · most likely: ${data.labels[ranked(after)[0]]} at ${pct(Math.max(...after))}`;
  }
  function send() { setStateValue("settings", settings()); }
  for (const c of [temp, topk, topp]) {
    c.input.addEventListener("input", redraw);
    c.input.addEventListener("change", send);
  }
  drawButton.addEventListener("click", () => {
    const rand = mulberry32(1000 + draws++);
    const out = [];
    for (let n = 0; n < 40; n++) {
      let u = rand();
      let j = 0;
      while (j < V - 1 && (u -= after[j]) > 0) j++;
      while (after[j] === 0 && j > 0) j--;  // rounding at the end of the cumulative sum
      out.push(data.labels[j]);
    }
    drawn.textContent = out.join(data.joiner);
  });
  redraw();
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  let root = parentElement.querySelector(".tlab-sampling");
  if (!root) {
    root = el("div", "tlab-sampling");
    parentElement.appendChild(root);
  }
  build(root, data, setStateValue);
}
