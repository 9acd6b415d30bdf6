"""Saving and loading trained models: plain data only, written atomically, read safely.

A checkpoint is one `torch.save`d dict of plain values and tensors:

    {"format": "transformer-lab/1",
     "model_config": ModelConfig.to_dict(),
     "task": {"name": "reverse", "params": {"length": 8}},
     "state_dict": {name: tensor},
     "metrics": {...}, ... anything else passed as `extra` (plain values only)}

It is read with `torch.load(weights_only=True)`, which refuses to unpickle arbitrary objects, so
opening a file someone uploaded cannot run their code. Every way a file can be wrong (not a
checkpoint, cut short, made for another model) becomes one `CheckpointError` sentence.
"""
from __future__ import annotations

import io
import os
import pickletools
import tempfile
import zipfile
from pathlib import Path

import torch

from .budget import BudgetError, describe, format_bytes, memory_limit_bytes, parameter_estimate
from .build import build_model
from .config import ModelConfig

FORMAT = "transformer-lab/1"
_RESERVED = ("format", "model_config", "task", "state_dict")


class CheckpointError(ValueError):
    """A file that cannot be used as a checkpoint; the message is one sentence for a person."""


def _plain(value, where: str):
    """Check that `value` is made of types `weights_only` loading accepts (and JSON-like)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0 and not isinstance(value, torch.Tensor):
        return value.item()  # a numpy scalar
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, where) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    raise TypeError(f"Checkpoint field '{where}' holds a {type(value).__name__}; only plain values can be saved.")


def checkpoint_dict(model, task, extra: dict | None = None) -> dict:
    """The dict `save_checkpoint` writes (CPU copies of the weights)."""
    extra = dict(extra or {})
    clash = [k for k in extra if k in _RESERVED]
    if clash:
        raise ValueError(f"extra cannot set the checkpoint's own field(s) {', '.join(clash)}.")
    payload = {
        "format": FORMAT,
        "model_config": model.cfg.to_dict(),
        "task": task.to_dict(),
        "state_dict": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
        "metrics": {},
    }
    for key, value in extra.items():
        payload[key] = _plain(value, key)
    return payload


def save_checkpoint(path: str | os.PathLike, model, task, extra: dict | None = None) -> Path:
    """Write a checkpoint atomically: to a temporary file in the same folder, then os.replace.

    A crash or a full disk halfway leaves the old file (if any) intact, never a truncated one,
    because os.replace within one filesystem is atomic.
    """
    path = Path(path)
    payload = checkpoint_dict(model, task, extra)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def checkpoint_bytes(model, task, extra: dict | None = None) -> bytes:
    """The checkpoint as bytes (for a download button)."""
    buffer = io.BytesIO()
    torch.save(checkpoint_dict(model, task, extra), buffer)
    return buffer.getvalue()


def read_checkpoint(source) -> dict:
    """Read and check a checkpoint's dict from a path, bytes or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        if len(raw) == 0:
            raise CheckpointError("The file is empty, so it is not a checkpoint: choose a .pt file saved by Transformer Lab.")
        source = io.BytesIO(raw)
    elif isinstance(source, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise CheckpointError(f"There is no checkpoint file at '{source}': check the path.")
        size = os.path.getsize(source)
        if size == 0:
            raise CheckpointError(f"'{source}' is empty, so it is not a checkpoint: save the model again.")
        limit = memory_limit_bytes()
        if size > limit:
            raise CheckpointError(
                f"'{source}' is {format_bytes(size)}, more than the {format_bytes(limit)} one model may "
                "use on this machine, so it is not a checkpoint this machine can load."
            )
        raw = None
    else:
        raw = None
    try:
        data = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds: UnpicklingError, RuntimeError, EOFError, ...
        if _imports_code(str(err), raw if raw is not None else _read_head(source)):
            raise CheckpointError(
                "This file holds Python objects that are not safe to load, so it is not a Transformer Lab "
                "checkpoint: choose a .pt file saved by Transformer Lab."
            ) from None
        raise CheckpointError(
            "This file could not be read as a checkpoint (it is corrupted, cut short, or not a PyTorch file): "
            "choose a .pt file saved by Transformer Lab."
        ) from None
    if not isinstance(data, dict) or "format" not in data:
        raise CheckpointError(
            "This is a PyTorch file but not a Transformer Lab checkpoint (it has no format mark): "
            "choose a .pt file saved by Transformer Lab."
        )
    if data["format"] != FORMAT:
        raise CheckpointError(
            f"This checkpoint has format '{data['format']}', which this version cannot read (it reads '{FORMAT}')."
        )
    missing = [k for k in ("model_config", "task", "state_dict") if not isinstance(data.get(k), dict)]
    if missing:
        raise CheckpointError(f"This checkpoint is incomplete: it lacks {', '.join(missing)}.")
    return data


# Modules whose names a checkpoint's pickle may import: torch's tensor rebuilders and the
# OrderedDict a state_dict is. Anything else (os.system, eval, ...) is a program, not weights.
_SAFE_MODULES = ("torch", "collections")


def _read_head(source) -> bytes | None:
    """The bytes of a file named by a path (already size-checked), for the pickle scan."""
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as f:
                return f.read()
        except OSError:
            return None
    return None


def _imports_code(message: str, raw: bytes | None) -> bool:
    """Whether a file torch refused asks to import a callable outside torch (a malicious pickle).

    torch names the global it refused in most cases ("Unsupported global: GLOBAL eval", or in
    2.13 "unsupported GLOBAL posix.system"), so its message is matched without regard to case.
    A pickle of a newer protocol fails earlier, at an opcode torch does not read ("Unsupported
    operand 149") before reaching the global, so the pickle itself is then scanned, opcode by
    opcode, without running it (`pickletools.genops` only decodes).
    """
    if "unsupported global" in message.lower():
        return True
    if not raw:
        return False
    streams = [raw]
    if raw[:2] == b"PK":  # a torch zip file: its pickles are members named *.pkl
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                streams = [z.read(n) for n in z.namelist() if n.endswith(".pkl")]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
            return False
    return any(_pickle_imports_code(stream) for stream in streams)


def _pickle_imports_code(data: bytes) -> bool:
    strings: list[str] = []  # the last strings pushed: STACK_GLOBAL takes module and name from them
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("GLOBAL", "INST"):
                module = str(arg).split(" ")[0]
            elif op.name == "STACK_GLOBAL":
                module = strings[-2] if len(strings) >= 2 else ""
            else:
                if isinstance(arg, str):
                    strings.append(arg)
                continue
            if module.split(".")[0] not in _SAFE_MODULES:
                return True
    except Exception:  # garbage ends the scan: what was read so far decides
        return False
    return False


def _check_weights(state: dict, cfg: ModelConfig) -> None:
    """The file's weights against its configuration, before anything is built: every value a
    tensor, as many numbers as the model has parameters, the embedding table the shape the
    configuration says, and every number finite."""
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError("This checkpoint's weights are not all named tensors: it was edited or is not from Transformer Lab.")
    emb = state.get("tok_emb.weight")
    # A tied model saves its one embedding table under both names (tok_emb and lm_head).
    shared = {"lm_head.weight"} if cfg.tie_weights else set()
    # A picture model (vit, cnn) has no token table: its count of weights is checked alone.
    emb_fits = cfg.is_image or (emb is not None and tuple(emb.shape) == (cfg.vocab_size, cfg.d_model))
    if sum(v.numel() for k, v in state.items() if k not in shared) != parameter_estimate(cfg) or not emb_fits:
        raise CheckpointError(
            "This checkpoint's weights do not fit its model configuration: "
            "it was saved by an incompatible version or edited."
        )
    for name, value in state.items():
        if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            raise CheckpointError(
                f"This checkpoint's weights contain NaN or infinite values ({name}), so the training that saved it "
                "had diverged: train the model again, with a lower learning rate."
            )


def load_checkpoint(source, device: str | torch.device = "cpu"):
    """-> (model in eval mode, task, meta) from a path, bytes or a binary file object.

    meta is the checkpoint dict without the weights: model_config, task, metrics, and any extra.
    Raises CheckpointError (a ValueError) with one sentence when the file cannot be used.
    """
    from .tasks import task_from_dict

    data = read_checkpoint(source)
    try:
        task = task_from_dict(data["task"])
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"This checkpoint's task cannot be rebuilt: {_sentence(err)}") from None
    # Everything is checked before anything is built: a 2 KB file asking for vocab_size 1e9 used
    # to reach the allocator (and a d_model 8192 one took 3.5 GB before it failed).
    try:
        cfg = ModelConfig.from_dict(data["model_config"]).validate()  # the memory budget included
    except BudgetError as err:
        if err.estimate is None:
            raise CheckpointError(f"This checkpoint's model configuration is invalid: {_sentence(err)}") from None
        raise CheckpointError(
            f"This checkpoint describes a model that would need {describe(err.estimate)}, more than the "
            f"{format_bytes(err.limit)} one model may use on this machine, so it cannot be loaded here."
        ) from None
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"This checkpoint's model configuration is invalid: {_sentence(err)}") from None
    if cfg.vocab_size != len(task.vocab):
        raise CheckpointError(
            f"This checkpoint's model has {cfg.vocab_size} tokens but its task has {len(task.vocab)}: "
            "it was saved by an incompatible version."
        )
    _check_weights(data["state_dict"], cfg)
    try:
        model = build_model(cfg)
    except (RuntimeError, MemoryError) as err:  # the budget's estimate is rough; the machine may be busy
        raise CheckpointError(f"This checkpoint's model could not be built here ({type(err).__name__}): free some memory and try again.") from None
    try:
        model.load_state_dict(data["state_dict"], strict=True)
    except (RuntimeError, KeyError, TypeError):
        raise CheckpointError(
            "This checkpoint's weights do not fit its model configuration: "
            "it was saved by an incompatible version or edited."
        ) from None
    model.to(device).eval()
    meta = {k: v for k, v in data.items() if k != "state_dict"}
    return model, task, meta


def _sentence(err: Exception) -> str:
    text = str(err).strip().strip("'\"") or type(err).__name__
    return text if text.endswith(".") else text + "."
