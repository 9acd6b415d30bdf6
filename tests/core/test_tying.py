"""ModelConfig.tie_weights: the token embedding and the output layer are one tensor."""
import io
import math

import pytest
import torch

from test_budget import one_sentence
from transformer import ModelConfig, build_model
from transformer.config import TIED_ARCHS
from transformer.budget import parameter_estimate
from transformer.build import count_parameters
from transformer.checkpoint import checkpoint_bytes, checkpoint_dict, load_checkpoint
from transformer.tasks import get_task
from transformer.training import TrainConfig, Trainer


@pytest.mark.parametrize("arch", TIED_ARCHS)
def test_tied_weights_are_one_tensor_and_save_v_times_d_parameters(arch):
    cfg = ModelConfig(vocab_size=23, max_len=16, arch=arch, d_model=32, n_heads=2, n_layers=1, d_ff=64)
    untied, tied = build_model(cfg), build_model(ModelConfig(**{**cfg.to_dict(), "tie_weights": True}))
    assert tied.lm_head.weight is tied.tok_emb.weight
    assert tied.lm_head.weight.data_ptr() == tied.tok_emb.weight.data_ptr()
    assert untied.lm_head.weight.data_ptr() != untied.tok_emb.weight.data_ptr()
    assert count_parameters(untied) - count_parameters(tied) == 23 * 32
    assert count_parameters(tied) == parameter_estimate(tied.cfg)


@pytest.mark.parametrize("arch", ["decoder", "lstm"])
def test_training_keeps_the_weights_tied(arch):
    task = get_task("reverse", length=4)
    cfg = task.model_config(arch, d_model=32, n_heads=2, d_ff=64, n_layers=1, tie_weights=True)
    trainer = Trainer(task, cfg, TrainConfig(steps=5, batch_size=8, eval_every=5, eval_size=8, seed=0))
    before = trainer.model.tok_emb.weight.detach().clone()
    trainer.run()
    model = trainer.model
    assert model.lm_head.weight is model.tok_emb.weight
    assert not torch.equal(before, model.tok_emb.weight.detach()), "the shared table was trained"


def test_a_tied_checkpoint_loads_tied_and_an_old_one_without_the_key_loads_untied():
    task = get_task("reverse", length=4)
    torch.manual_seed(0)
    tied = build_model(task.model_config("decoder", d_model=32, n_heads=2, d_ff=64, tie_weights=True)).eval()
    model, _, _ = load_checkpoint(checkpoint_bytes(tied, task))
    assert model.lm_head.weight is model.tok_emb.weight
    idx = torch.tensor([[1, 5, 6, 3]])
    assert torch.allclose(model(idx)[0], tied(idx)[0], atol=1e-6)
    old = checkpoint_dict(build_model(task.model_config("decoder", d_model=32, n_heads=2, d_ff=64)), task)
    del old["model_config"]["tie_weights"]  # saved before the option existed
    buffer = io.BytesIO()
    torch.save(old, buffer)
    model, _, _ = load_checkpoint(buffer.getvalue())
    assert not model.cfg.tie_weights and model.lm_head.weight is not model.tok_emb.weight


@pytest.mark.parametrize("arch, value, match", [("encoder", True, "turn tie_weights off"),
                                                ("vit", True, "turn tie_weights off"),
                                                ("decoder", "yes", "true or false"),
                                                ("decoder", 1, "true or false")])
def test_tying_where_it_makes_no_sense_is_one_sentence(arch, value, match):
    with pytest.raises(ValueError, match=match) as err:
        ModelConfig(vocab_size=10, arch=arch, tie_weights=value).validate()
    assert one_sentence(str(err.value))


@pytest.mark.parametrize("arch", ["gru", "lstm", "lstm-seq2seq-attn"])
def test_a_tied_recurrent_model_reads_unit_scale_vectors_and_starts_near_ln_v(arch):
    """The shared table starts small (std d^-0.5, an output layer's scale) and is read times
    sqrt(d): the recurrent layers see N(0, 1)-sized inputs as untied, and the first loss on
    targets unrelated to the input is near ln V (with the table at N(0, 1) it started 1.5-5.8
    above it)."""
    task = get_task("reverse", length=6)
    torch.manual_seed(0)
    model = build_model(task.model_config(arch, d_model=64, tie_weights=True)).eval()
    assert abs(float(model.tok_emb.weight.detach().std()) * 64 ** 0.5 - 1) < 0.1  # 960 samples: about 2% error
    idx, targets = torch.randint(5, len(task.vocab), (2, 16, 12))
    with torch.no_grad():
        _, loss = model(idx, targets) if model.cfg.layout == "lm" else model(idx, idx, targets)
    assert abs(float(loss) - math.log(len(task.vocab))) < 0.5
