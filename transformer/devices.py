"""Choosing where a model trains: CUDA, Apple MPS, or the CPU.

`resolve_device("auto")` prefers a CUDA GPU, then Apple's Metal (MPS), then the CPU. A device
that is named but not present raises a `ValueError` whose sentence says what is available, so
the CLI and the app can show it as it is instead of failing deep inside PyTorch.
"""
from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Names of the devices this machine can train on, best first (always ends with "cpu")."""
    found = []
    if cuda_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Turn "auto" | "cpu" | "cuda" | "cuda:1" | "mps" into a `torch.device` that exists here."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"Unknown device '{name}': choose one of {', '.join(DEVICE_CHOICES)}.")
    if kind == "cuda":
        if not cuda_available():
            raise ValueError(
                f"Device '{name}' was asked for but no CUDA GPU is available here "
                f"(available: {', '.join(available_devices())}); use --device auto or cpu."
            )
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"Device '{name}' does not exist: this machine has {torch.cuda.device_count()} CUDA GPU(s)."
            )
        return torch.device("cuda", index)
    if kind == "mps" and not mps_available():
        raise ValueError(
            f"Device 'mps' was asked for but Apple's Metal backend is not available here "
            f"(available: {', '.join(available_devices())}); use --device auto or cpu."
        )
    return torch.device(kind)


def device_name(device: str | torch.device) -> str:
    """A human label: "CPU (2 threads)", "NVIDIA H100 80GB HBM3", "Apple GPU (MPS)"."""
    device = torch.device(device) if not isinstance(device, torch.device) else device
    if device.type == "cuda":
        return torch.cuda.get_device_name(device.index or 0)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
