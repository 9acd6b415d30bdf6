import math

import torch

from transformer.positional import RotaryEmbedding, apply_rotary, sinusoidal_encoding


def test_sinusoidal_matches_the_papers_formula():
    pe = sinusoidal_encoding(50, 16)
    assert pe.shape == (50, 16)
    for pos in (0, 3, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert math.isclose(pe[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-5)
            assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-5)


def test_sinusoidal_odd_width_and_base():
    pe = sinusoidal_encoding(10, 7, base=100.0)
    assert pe.shape == (10, 7)
    assert math.isclose(pe[5, 2].item(), math.sin(5 / 100 ** (2 / 7)), abs_tol=1e-5)


def test_offset_is_a_rotation_independent_of_position():
    d, k = 8, 3
    pe = sinusoidal_encoding(40, d)
    freqs = 1 / 10000 ** (torch.arange(0, d, 2) / d)
    for pos in (0, 7, 20):
        # PE[pos + k] is PE[pos] with each (sin, cos) pair turned by k * freq.
        s, c = pe[pos, 0::2], pe[pos, 1::2]
        rotated_s = s * torch.cos(k * freqs) + c * torch.sin(k * freqs)
        rotated_c = c * torch.cos(k * freqs) - s * torch.sin(k * freqs)
        torch.testing.assert_close(rotated_s, pe[pos + k, 0::2], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(rotated_c, pe[pos + k, 1::2], atol=1e-5, rtol=1e-4)


def test_rope_dot_product_depends_only_on_offset():
    rope = RotaryEmbedding(d_head=8, max_len=32)
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)
    seq_q = q.expand(1, 1, 32, 8)
    seq_k = k.expand(1, 1, 32, 8)
    rq, rk = rope(seq_q)[0, 0], rope(seq_k)[0, 0]  # (32, 8)
    dots = rq @ rk.T  # dots[m, n] = q rotated by m · k rotated by n
    for offset in (0, 1, 5):
        diag = torch.diagonal(dots, offset=-offset)
        torch.testing.assert_close(diag, diag[0].expand_as(diag), atol=1e-4, rtol=1e-4)


def test_rotation_keeps_length():
    x = torch.randn(2, 3, 6, 4)
    angles = torch.rand(6, 2)
    y = apply_rotary(x, angles.cos(), angles.sin())
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
