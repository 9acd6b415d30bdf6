"""Fair comparison helpers: parameter matching, gradient by distance, step time, accuracy."""
import numpy as np
import pytest
import torch

from transformer.build import build_model, count_parameters
from transformer.analysis.compare import (
    accuracy_from_logits,
    activation_bytes,
    attention_map_mb,
    gradient_by_distance,
    match_recurrent_config,
    matched_configs,
    recurrent_parameter_count,
    step_time_by_length,
)
from transformer.config import ModelConfig


def decoder_cfg(**kw):
    base = dict(vocab_size=14, max_len=32, arch="decoder", d_model=32, n_heads=4, n_layers=2, d_ff=64)
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("d_model,n_layers", [(8, 1), (33, 2), (64, 3)])
def test_closed_form_count_matches_the_built_model(arch, d_model, n_layers):
    cfg = ModelConfig(vocab_size=14, arch=arch, d_model=d_model, n_layers=n_layers)
    assert recurrent_parameter_count(arch, 14, d_model, n_layers) == count_parameters(build_model(cfg))


@pytest.mark.parametrize("d_model,n_layers", [(32, 1), (64, 2), (128, 4)])
def test_matched_configs_are_within_ten_percent(d_model, n_layers):
    cfg = decoder_cfg(d_model=d_model, n_layers=n_layers, d_ff=4 * d_model)
    configs = matched_configs(cfg, ["rnn", "gru", "lstm"])
    target = count_parameters(build_model(cfg))
    assert configs["decoder"] is cfg
    sizes = {}
    for arch in ("rnn", "gru", "lstm"):
        c = configs[arch]
        assert c.arch == arch and c.vocab_size == cfg.vocab_size and c.n_layers == n_layers
        assert abs(count_parameters(build_model(c)) - target) <= 0.10 * target
        sizes[arch] = c.d_model
    # More gates per cell leave room for a narrower hidden state.
    assert sizes["rnn"] > sizes["gru"] > sizes["lstm"]


def test_matching_can_change_depth():
    cfg = decoder_cfg()
    lstm = matched_configs(cfg, ["lstm"], n_layers=1)["lstm"]
    assert lstm.n_layers == 1
    assert lstm.d_model > matched_configs(cfg, ["lstm"])["lstm"].d_model


def test_impossible_match_is_refused():
    with pytest.raises(ValueError, match="within 10%"):
        match_recurrent_config(decoder_cfg(), "lstm", target_params=40)
    with pytest.raises(ValueError, match="rnn, gru and lstm"):
        matched_configs(decoder_cfg(), ["encoder"])


def lm_batch(vocab=14, B=4, T=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(1, vocab, (B, T), generator=g)
    return idx, torch.roll(idx, -1, dims=1)


def test_gradient_by_distance_matches_hand_computation():
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=14, arch="lstm", d_model=16, n_layers=2))
    idx, targets = lm_batch()
    g = gradient_by_distance(model, idx, targets, position=6)
    assert g.shape == (7,)
    assert all(p.grad is None for p in model.parameters())  # weights' gradients untouched
    emb = model.tok_emb(idx[:, :7]).detach().requires_grad_(True)
    out, _ = model.rnn(emb)
    loss = torch.nn.functional.cross_entropy(model.lm_head(out)[:, 6], targets[:, 6])
    loss.backward()
    expected = emb.grad.norm(dim=-1).mean(dim=0).flip(0)
    assert np.allclose(g, expected.numpy(), rtol=1e-4, atol=1e-8)


def test_gradient_stops_where_the_recurrence_is_cut():
    """With the recurrent weights zeroed an RNN sees only the current token; a transformer
    still reaches every earlier position."""
    torch.manual_seed(0)
    rnn = build_model(ModelConfig(vocab_size=14, arch="rnn", d_model=16, n_layers=1))
    with torch.no_grad():
        rnn.rnn.weight_hh_l0.zero_()
    idx, targets = lm_batch()
    g = gradient_by_distance(rnn, idx, targets)
    assert g.shape == (10,)
    assert g[0] > 0 and np.all(g[1:] == 0)
    dec = build_model(decoder_cfg())
    assert np.all(gradient_by_distance(dec, idx, targets) > 0)


def test_gradient_uses_only_rows_with_a_target():
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=14, arch="gru", d_model=16, n_layers=1))
    idx, targets = lm_batch()
    targets[:, 8:] = -100
    targets[0, 7] = -100
    g_default = gradient_by_distance(model, idx, targets)  # last column with any target: 7
    assert g_default.shape == (8,)
    g_rows = gradient_by_distance(model, idx[1:], targets[1:], position=7)
    assert np.allclose(g_default, g_rows)
    with pytest.raises(ValueError, match="No row has a target"):
        gradient_by_distance(model, idx, targets, position=9)


def test_activation_memory_grows_with_length():
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=14, arch="lstm", d_model=16, n_layers=1))
    short = activation_bytes(model, lm_batch(T=8)[0])
    long = activation_bytes(model, lm_batch(T=32)[0])
    assert short > 0 and 2 * short < long <= 4 * short   # at most linear in length for a recurrent model
    assert attention_map_mb(decoder_cfg(), 2, 64) == pytest.approx(4 * attention_map_mb(decoder_cfg(), 2, 32))


def test_step_time_by_length_reports_every_model_and_length():
    cfgs = {"decoder": decoder_cfg(d_model=16, d_ff=32), "rnn": ModelConfig(vocab_size=14, arch="rnn", d_model=16)}
    out = step_time_by_length(cfgs, [4, 48], batch_size=2, repeats=1)
    for name in cfgs:
        assert out[name]["lengths"] == [4, 48]
        assert all(s > 0 for s in out[name]["seconds"])
        assert out[name]["activation_mb"][1] > out[name]["activation_mb"][0]
    stopped = step_time_by_length(cfgs, [4, 8], batch_size=2, repeats=1, should_stop=lambda: True)
    assert stopped["decoder"]["lengths"] == []


def test_accuracy_from_logits():
    targets = torch.tensor([[-100, 1, 2], [-100, 2, 2], [-100, -100, -100]])
    pred = torch.tensor([[0, 1, 2], [0, 2, 1], [0, 0, 0]])
    logits = torch.nn.functional.one_hot(pred, 3).float()
    token_acc, seq_acc = accuracy_from_logits(logits, targets)
    assert token_acc == pytest.approx(3 / 4)
    assert seq_acc == pytest.approx(1 / 2)   # the row without targets does not count


# --------------------------------------------------------------------------- what each model keeps

def test_recurrent_states_are_the_lstm_outputs_after_each_token():
    from transformer.analysis.compare import recurrent_states

    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=14, arch="lstm", d_model=16, n_layers=1)).eval()
    idx = torch.randint(0, 14, (1, 7))
    states = recurrent_states(model, idx)
    assert set(states) == {"hidden", "cell"} and states["hidden"].shape == (7, 16)
    # The hidden state after each token is what nn.LSTM itself returns for that position.
    with torch.no_grad():
        expected, _ = model.rnn(model.tok_emb(idx))                  # the fused kernel
    np.testing.assert_allclose(states["hidden"], expected[0].numpy(), atol=1e-6)
    gru = build_model(ModelConfig(vocab_size=14, arch="gru", d_model=16, n_layers=1))
    assert set(recurrent_states(gru, idx)) == {"hidden"}            # a GRU has no separate cell


def test_last_layer_attention_is_causal_rows_of_probabilities():
    from transformer.analysis.compare import last_layer_attention

    torch.manual_seed(0)
    model = build_model(decoder_cfg()).eval()
    weights = last_layer_attention(model, torch.randint(0, 14, (1, 9)))
    assert weights.shape == (4, 9, 9)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(weights, k=1) == 0)                       # no position reads the future


def test_cross_attention_map_has_one_row_per_output_and_one_column_per_source_token():
    from transformer.analysis.compare import cross_attention_map

    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=14, arch="lstm-seq2seq-attn", d_model=16, n_layers=1)).eval()
    weights = cross_attention_map(model, [3, 4, 5, 6, 7], [1, 8, 9])
    assert weights.shape == (3, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
