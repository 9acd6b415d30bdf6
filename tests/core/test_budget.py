"""One memory budget for every run: estimated from the configs alone, refused with a sentence
that names the knob to turn down, in the library, the Train page and the live runner."""
from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from transformer import budget
from transformer.budget import BudgetError, check_budget, estimate, memory_limit_bytes, parameter_estimate
from transformer.build import build_model, count_parameters
from transformer.config import ARCHS, ModelConfig
from transformer.tasks import TASKS, get_task
from transformer.presets import preset_configs
from transformer.training import TrainConfig, Trainer, run_configs

GB = 2**30
REPO = Path(__file__).resolve().parents[2]
# Every Train slider at its maximum (issue 15: a 252M-parameter model, Train enabled).
MAX_SLIDERS = dict(d_model=1024, n_heads=64, n_layers=12, d_ff=8192)


def one_sentence(message: str) -> bool:
    """One line, ending with a full stop, no second sentence starting inside it."""
    return "\n" not in message and message.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", message[:-1])


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pos_encoding, norm", [("sinusoidal", "pre"), ("learned", "post"), ("rope", "pre")])
def test_parameter_estimate_is_exact(arch, pos_encoding, norm):
    for d_model, n_heads, n_layers, d_ff in ((8, 2, 1, 12), (24, 4, 3, 40)):
        cfg = ModelConfig(vocab_size=19, max_len=11, arch=arch, d_model=d_model, n_heads=n_heads, n_layers=n_layers,
                          d_ff=d_ff, pos_encoding=pos_encoding, norm=norm)
        assert parameter_estimate(cfg) == count_parameters(build_model(cfg))


def test_the_default_limit_is_sized_to_the_machine(monkeypatch):
    monkeypatch.delenv(budget.ENV_VAR, raising=False)
    monkeypatch.setattr(budget, "machine_memory_bytes", lambda: 24 * GB)
    assert memory_limit_bytes() == 6 * GB  # a quarter
    monkeypatch.setattr(budget, "machine_memory_bytes", lambda: 4 * GB)
    assert memory_limit_bytes() == 2 * GB  # the floor every preset fits in
    monkeypatch.setattr(budget, "machine_memory_bytes", lambda: 512 * GB)
    assert memory_limit_bytes() == 8 * GB  # the cap
    monkeypatch.setattr(budget, "machine_memory_bytes", lambda: None)
    assert memory_limit_bytes() == 2 * GB


@pytest.mark.parametrize("raw, expected", [("3", 3 * GB), (" 0.5 ", GB // 2), ("many", 2 * GB), ("-1", 2 * GB),
                                           ("nan", 2 * GB), ("0", 2 * GB)])
def test_the_limit_comes_from_the_environment_like_the_run_limit(monkeypatch, raw, expected):
    monkeypatch.setattr(budget, "machine_memory_bytes", lambda: 4 * GB)
    monkeypatch.setenv(budget.ENV_VAR, raw)
    assert memory_limit_bytes() == expected


def _experiment_model(page: str) -> dict:
    """A page's EXPERIMENT_MODEL constant, read without importing Streamlit."""
    tree = ast.parse((REPO / "pages" / page).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXPERIMENT_MODEL":
            if isinstance(node.value, ast.Call):  # dict(d_model=32, ...)
                return {kw.arg: ast.literal_eval(kw.value) for kw in node.value.keywords}
            return ast.literal_eval(node.value)
    raise AssertionError(f"no EXPERIMENT_MODEL in {page}")


def test_every_preset_and_experiment_fits_the_smallest_default_limit(monkeypatch):
    """2 GB is the default on any machine: every task's preset for every architecture, at its
    default and at its longest task parameters, and the pages' own experiments must fit it."""
    monkeypatch.setenv(budget.ENV_VAR, "2")
    for name, cls in TASKS.items():
        variants = [{}, {k: hi for k, (lo, hi) in cls.param_ranges.items()}]
        for params in variants:
            try:
                task = get_task(name, **params)
            except ValueError:  # parameters that clash at their maxima (induction's symbols)
                continue
            for arch in task.archs:
                run_configs(task, *preset_configs(task, arch))
    from transformer.presets import INDUCTION_DEMO

    demo = get_task("induction", **INDUCTION_DEMO["task"])
    demo.model_config(**INDUCTION_DEMO["model"])
    pe_model = _experiment_model("positional_encoding.py")
    for scheme in ("sinusoidal", "learned", "rope", "none"):
        task = get_task("reverse", length=64)
        run_configs(task, task.model_config("decoder", pos_encoding=scheme, **pe_model), TrainConfig())


def test_the_largest_sliders_are_refused_with_a_sentence_naming_batch_size(monkeypatch):
    monkeypatch.setenv(budget.ENV_VAR, "6")
    task = get_task("reverse")
    with pytest.raises(BudgetError) as info:
        run_configs(task, ModelConfig(arch="decoder", **MAX_SLIDERS), TrainConfig(batch_size=4096))
    message = str(info.value)
    assert info.value.knob == "batch_size" and one_sentence(message), message
    assert "lower batch_size from 4,096 to" in message and "$TLAB_MAX_MEMORY_GB" in message and "6.0 GB" in message
    # The value it suggests does fit.
    fits = int(re.search(r"to ([\d,]+) or less", message).group(1).replace(",", ""))
    run_configs(task, ModelConfig(arch="decoder", **MAX_SLIDERS), TrainConfig(batch_size=fits))


@pytest.mark.parametrize("change, knob", [(dict(d_model=10**6, n_heads=1), "d_model"), (dict(d_ff=10**9), "d_ff"),
                                          (dict(vocab_size=10**9), "vocab_size"), (dict(max_len=10**7), "max_len")])
def test_a_model_too_large_alone_names_its_largest_size(change, knob):
    with pytest.raises(BudgetError) as info:
        ModelConfig(**change).validate()
    assert info.value.knob == knob and one_sentence(str(info.value)) and f"lower {knob} from" in str(info.value)


def test_layers_are_bounded_before_anything_is_built():
    with pytest.raises(ValueError, match="n_layers must be at most 64"):
        ModelConfig(n_layers=100_000, d_model=4, n_heads=1, d_ff=4).validate()


def test_the_estimate_grows_with_every_knob():
    """The knob search bisects, which needs an estimate that never shrinks as a knob grows."""
    cfg = ModelConfig(vocab_size=20, max_len=16, d_model=32, n_heads=4, d_ff=64)
    base = estimate(cfg, 8, 64).total
    for name in ("vocab_size", "max_len", "d_model", "n_layers", "d_ff"):
        assert estimate(replace(cfg, **{name: getattr(cfg, name) * 2}), 8, 64).total > base, name
    # Training and evaluation take turns, so the larger of the two counts.
    assert estimate(cfg, 16, 8).total > estimate(cfg, 8, 8).total
    assert estimate(cfg, 8, 100_000).total > base


@pytest.fixture
def no_building(monkeypatch):
    """Building a model fails the test: checks must come first."""
    def refuse(cfg):
        raise AssertionError("a model was built")

    import transformer.build
    import transformer.training

    monkeypatch.setattr(transformer.training, "build_model", refuse)
    monkeypatch.setattr(transformer.build, "build_model", refuse)


def test_the_trainer_refuses_before_building(monkeypatch, no_building):
    monkeypatch.setenv(budget.ENV_VAR, "0.01")
    with pytest.raises(BudgetError, match="lower"):
        Trainer(get_task("reverse"), ModelConfig(arch="decoder", d_model=256, n_heads=4, d_ff=1024),
                TrainConfig(batch_size=512, device="cpu"))


def test_counting_parameters_builds_nothing(monkeypatch, no_building):
    from transformer.build import parameter_count

    monkeypatch.setenv(budget.ENV_VAR, "8")
    cfg = ModelConfig(vocab_size=len(get_task("reverse").vocab), arch="decoder", **MAX_SLIDERS)
    assert parameter_count(cfg) == 251_899_919  # issue 15's count, which the page showed after building it


def test_a_live_run_is_checked_in_the_click_handler_without_building_the_model(monkeypatch, no_building):
    """The Train button's handler creates the LiveRun: it must refuse a run over the budget at
    once and otherwise build nothing (it built the model and kept a copy: 4.6 s, 1 GB)."""
    from transformer.runs.limiter import RunLimiter
    from transformer.runs.live import LiveRun

    task = get_task("reverse", length=4)
    monkeypatch.setenv(budget.ENV_VAR, "0.01")
    with pytest.raises(BudgetError):
        LiveRun(task, ModelConfig(arch="decoder", d_model=256, n_heads=4, d_ff=1024),
                TrainConfig(batch_size=512, device="cpu"), limiter=RunLimiter(1))
    monkeypatch.delenv(budget.ENV_VAR)
    run = LiveRun(task, ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32),
                  TrainConfig(eval_size=16, device="cpu", seed=3), limiter=RunLimiter(1))
    assert run.probe == task.examples(4, 3 + 10_000, split="val")  # the trainer's first validation examples
    assert not hasattr(run, "_initial_state")


def test_a_live_runs_model_before_its_first_snapshot_is_the_trainers_initial_model():
    import torch

    from transformer.runs.limiter import RunLimiter
    from transformer.runs.live import LiveRun

    task = get_task("reverse", length=4)
    cfg, train = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32), TrainConfig(device="cpu", seed=7)
    run = LiveRun(task, cfg, train, limiter=RunLimiter(1))
    expected = Trainer(task, cfg, train).model.state_dict()
    got = run.model_copy().state_dict()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in got)


def test_the_train_settings_put_the_budget_sentence_beside_its_knob(monkeypatch):
    from transformer.ui import settings as S

    monkeypatch.setenv(budget.ENV_VAR, "6")
    values = S.preset_settings("reverse", "decoder")
    built = S.build({**values, **MAX_SLIDERS, "batch_size": 4096})
    assert not built.ok and "lower batch_size" in built.errors["train"] and "model" not in built.errors
    built = S.build({**values, **MAX_SLIDERS, "batch_size": 64})
    assert not built.ok and "lower d_model" in built.errors["model"]
    assert S.build(values).ok


def test_the_train_page_disables_train_above_the_budget_and_says_why(monkeypatch):
    monkeypatch.setenv(budget.ENV_VAR, "6")
    at = AppTest.from_file("../../pages/train.py", default_timeout=60)
    query = dict(task="reverse", arch="decoder", batch_size="4096", steps="100000",
                 **{k: str(v) for k, v in MAX_SLIDERS.items()})
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    train = next(b for b in at.button if b.label == "Train")
    assert train.disabled
    errors = [e.value for e in at.error]
    assert any("lower batch_size from 4,096" in e and "memory" in e for e in errors), errors


def test_check_budget_reports_what_fits():
    est = check_budget(ModelConfig(), batch_size=64, eval_size=256, limit=8 * GB)
    assert est.parameters == parameter_estimate(ModelConfig()) and 0 < est.total <= 8 * GB
