"""Recurrent baselines: causality, the fused and explicit paths agree, they learn, attention masks."""
import pytest
import torch

from transformer.capture import capture
from transformer.config import ModelConfig
from transformer.recurrent import EncoderMemory, RecurrentLM, Seq2SeqLSTM

V = 12


def lm_cfg(arch, **kw):
    base = dict(vocab_size=V, max_len=32, arch=arch, d_model=16, n_layers=2, dropout=0.0)
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_shapes_and_loss(arch):
    torch.manual_seed(0)
    model = RecurrentLM(lm_cfg(arch))
    idx = torch.randint(1, V, (3, 7))
    targets = idx.clone()
    targets[:, :3] = -100
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 7, V)
    expected = torch.nn.functional.cross_entropy(logits[:, 3:].reshape(-1, V), targets[:, 3:].reshape(-1))
    assert torch.allclose(loss, expected)
    assert model(idx)[1] is None
    assert isinstance(model.tok_emb, torch.nn.Embedding)


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_causal(arch):
    torch.manual_seed(0)
    model = RecurrentLM(lm_cfg(arch)).eval()
    idx = torch.randint(1, V, (2, 9))
    changed = idx.clone()
    changed[:, 6] = (changed[:, 6] % (V - 1)) + 1  # a different token at position 6
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_unrolled_path_matches_fused(arch):
    torch.manual_seed(1)
    model = RecurrentLM(lm_cfg(arch, n_layers=3, dropout=0.2)).eval()
    idx = torch.randint(0, V, (4, 11))
    with torch.no_grad():
        fused, _ = model(idx)
        with capture(model, hidden=True) as cache:
            explicit, _ = model(idx)
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert cache["rnn.hidden"].shape == (4, 11, 16)
    assert torch.equal(cache["rnn.hidden"], cache["rnn.2"])
    assert cache["embed"].shape == (4, 11, 16)
    assert ("rnn.cell" in cache) == (arch == "lstm")
    if arch == "lstm":
        assert cache["rnn.cell"].shape == (4, 11, 16)
    assert not cache["rnn.hidden"].requires_grad
    # The recorded last-layer states are the fused kernel's outputs.
    with torch.no_grad():
        fused_hidden, _ = model.rnn(model.tok_emb(idx))
    assert torch.allclose(cache["rnn.hidden"], fused_hidden, atol=1e-5)


def test_unrolled_path_trains_like_fused():
    """Gradients through the explicit cell equations equal the fused kernel's."""
    torch.manual_seed(2)
    model = RecurrentLM(lm_cfg("gru"))
    idx = torch.randint(0, V, (2, 6))
    _, loss = model(idx, idx)
    loss.backward()
    fused_grad = model.rnn.weight_hh_l0.grad.clone()
    model.zero_grad()
    with capture(model):
        _, loss = model(idx, idx)
    loss.backward()
    assert torch.allclose(model.rnn.weight_hh_l0.grad, fused_grad, atol=1e-5)


def test_lstm_forget_gate_starts_open():
    model = RecurrentLM(lm_cfg("lstm"))
    H = 16
    assert torch.all(model.rnn.bias_ih_l1[H:2 * H] == 1.0)
    assert torch.all(model.rnn.bias_hh_l1[H:2 * H] == 0.0)


def test_wrong_arch_is_refused():
    with pytest.raises(ValueError, match="RecurrentLM"):
        RecurrentLM(lm_cfg("decoder"))
    with pytest.raises(ValueError, match="Seq2SeqLSTM"):
        Seq2SeqLSTM(lm_cfg("lstm"))


def overfit(model, inputs, targets, steps=300, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        _, loss = model(*inputs, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.05:
            break
    return loss.item()


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_lm_overfits_one_batch(arch):
    torch.manual_seed(0)
    model = RecurrentLM(lm_cfg(arch, d_model=32, n_layers=1))
    idx = torch.randint(1, V, (4, 8))
    targets = torch.roll(idx, -1, dims=1)
    targets[:, -1] = -100
    assert overfit(model, (idx,), targets) < 0.05


# ---------------------------------------------------------------- encoder-decoder

def s2s_cfg(arch, **kw):
    base = dict(vocab_size=V, max_len=32, arch=arch, d_model=16, n_layers=2, dropout=0.0)
    base.update(kw)
    return ModelConfig(**base)


def padded_src():
    src = torch.randint(1, V, (3, 6))
    src[1, 4:] = 0   # rows 1 and 2 are shorter, right-padded with pad_id 0
    src[2, 2:] = 0
    return src


@pytest.mark.parametrize("arch", ["lstm-seq2seq", "lstm-seq2seq-attn"])
def test_seq2seq_shapes(arch):
    torch.manual_seed(0)
    model = Seq2SeqLSTM(s2s_cfg(arch))
    assert model.use_attention == (arch == "lstm-seq2seq-attn")
    src, tgt_in = padded_src(), torch.randint(1, V, (3, 5))
    logits, loss = model(src, tgt_in, tgt_in)
    assert logits.shape == (3, 5, V) and loss.ndim == 0
    memory = model.encode(src)
    assert memory.outputs.shape == (3, 6, 16)
    assert memory.state[0].shape == (2, 3, 16) and memory.state[1].shape == (2, 3, 16)
    assert torch.allclose(model.decode(tgt_in, memory, src), logits)


def test_attention_flag_overrides_arch():
    assert Seq2SeqLSTM(s2s_cfg("lstm-seq2seq"), attention=True).use_attention
    assert not Seq2SeqLSTM(s2s_cfg("lstm-seq2seq-attn"), attention=False).use_attention


def test_padding_does_not_reach_the_final_state():
    torch.manual_seed(0)
    model = Seq2SeqLSTM(s2s_cfg("lstm-seq2seq")).eval()
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0]])
    with torch.no_grad():
        a, b = model.encode(short), model.encode(padded)
    assert torch.allclose(a.state[0], b.state[0], atol=1e-6)
    assert torch.allclose(a.state[1], b.state[1], atol=1e-6)


def test_attention_weights_sum_to_one_and_skip_padding():
    torch.manual_seed(0)
    model = Seq2SeqLSTM(s2s_cfg("lstm-seq2seq-attn")).eval()
    src, tgt_in = padded_src(), torch.randint(1, V, (3, 5))
    with torch.no_grad():
        with capture(model) as cache:
            model(src, tgt_in)
    attn = cache["decoder.cross_attn"]
    assert attn.shape == (3, 1, 5, 6)
    pad = (src == 0)[:, None, None, :].expand_as(attn)
    assert torch.all(attn[pad] == 0)
    assert torch.allclose(attn.sum(-1), torch.ones(3, 1, 5), atol=1e-6)
    assert cache["encoder.hidden"].shape == (3, 6, 16)
    assert cache["decoder.hidden"].shape == (3, 5, 16)


def test_without_attention_only_the_final_state_crosses_over():
    """Scrambling the encoder outputs (keeping its final state) changes nothing without
    attention, and changes the output with it."""
    torch.manual_seed(0)
    src, tgt_in = padded_src(), torch.randint(1, V, (3, 5))
    for arch, should_change in [("lstm-seq2seq", False), ("lstm-seq2seq-attn", True)]:
        model = Seq2SeqLSTM(s2s_cfg(arch)).eval()
        with torch.no_grad():
            memory = model.encode(src)
            scrambled = EncoderMemory(torch.randn_like(memory.outputs), memory.state, memory.src_mask)
            changed = not torch.allclose(model.decode(tgt_in, memory), model.decode(tgt_in, scrambled))
        assert changed == should_change, arch
    model = Seq2SeqLSTM(s2s_cfg("lstm-seq2seq"))
    with capture(model) as cache:
        model(src, tgt_in)
    assert "decoder.cross_attn" not in cache


def test_decoder_is_causal():
    torch.manual_seed(0)
    model = Seq2SeqLSTM(s2s_cfg("lstm-seq2seq-attn")).eval()
    src, tgt_in = padded_src(), torch.randint(1, V, (3, 6))
    changed = tgt_in.clone()
    changed[:, 4] = (changed[:, 4] % (V - 1)) + 1
    with torch.no_grad():
        a, _ = model(src, tgt_in)
        b, _ = model(src, changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)


@pytest.mark.parametrize("arch", ["lstm-seq2seq", "lstm-seq2seq-attn"])
def test_seq2seq_overfits_reversal(arch):
    torch.manual_seed(0)
    model = Seq2SeqLSTM(s2s_cfg(arch, d_model=32, n_layers=1))
    src = torch.randint(3, V, (4, 5))
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.full((4, 1), 1), tgt[:, :-1]], dim=1)  # [BOS] + target shifted right
    assert overfit(model, (src, tgt_in), tgt) < 0.05
