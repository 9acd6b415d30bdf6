"""Shapes: small greyscale images drawn in code, the Vision Transformer's task.

Each image is `image_size` x `image_size` pixels with one shape on a noisy background, at a
random position, size, rotation and brightness. Six classes, in pairs that differ in structure
rather than in amount of ink, so a model has to look at *where* the bright pixels are:

    disc  / ring       a filled circle, and one with a hole
    square / frame     a filled square, and its outline
    triangle / cross   three straight edges, and a plus sign (two bars)

How an image is stored: one token per pixel, row by row, a grey level from "0" (black) to "f"
(white) in 16 steps. So an `Example` is tokens like every other task's (it hashes into the
train/validation split, compares, and goes through a checkpoint the same way), and
`make_batch(..., layout="image")` turns the tokens into a float tensor [B, 1, H, W] in [0, 1].
A 16x16 image, printed as its tokens, reads like this (a ring):

    0000000000000000
    0000001430000000
    00000aefb2000000      the "image" layout gives the model only the pixels;
    ...                   the label is graded from the one answer token, e.g. "ring"

The label cannot be recomputed from the pixels by a rule (that is the model's job), so the
generator draws the label first and then the picture (`draw`), and `solve` refuses typed input.
"""
from __future__ import annotations

import functools
import math
import random

import numpy as np

from .base import Example, Task
from .vocab import Vocab

LEVELS = "0123456789abcdef"  # 16 grey levels, one character each
SHAPES = ("disc", "ring", "square", "frame", "triangle", "cross")
IMAGE_ARCHS = ("vit", "cnn")
SUPERSAMPLE = 2  # sub-pixels per pixel side: edges come out grey, as a camera would see them


@functools.lru_cache(maxsize=8)
def _subpixel_centres(size: int) -> np.ndarray:
    """Sub-pixel centres along one side, in pixels: [size · SUPERSAMPLE] (read-only, cached)."""
    grid = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    grid.flags.writeable = False
    return grid


def render(shape: str, size: int, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """Coverage of `shape` on a size x size pixel grid: float array [size, size] in [0, 1].

    (cx, cy) is the centre in pixels, `radius` half the shape's extent, `angle` its rotation in
    radians. Each pixel is the fraction of its SUPERSAMPLE^2 sub-pixels inside the shape.
    """
    s = SUPERSAMPLE
    grid = _subpixel_centres(size)
    y, x = (grid - cy)[:, None], (grid - cx)[None, :]  # (size*s, 1) and (1, size*s): broadcast to the grid
    c, n = math.cos(angle), math.sin(angle)
    u, v = c * x + n * y, -n * x + c * y  # coordinates in the shape's own rotated frame
    r = np.hypot(x, y)
    if shape == "disc":
        inside = r <= radius
    elif shape == "ring":
        inside = (r <= radius) & (r >= 0.55 * radius)
    elif shape == "square":
        inside = np.maximum(abs(u), abs(v)) <= 0.8 * radius
    elif shape == "frame":
        m = np.maximum(abs(u), abs(v))
        inside = (m <= 0.8 * radius) & (m >= 0.45 * radius)
    elif shape == "triangle":
        # An equilateral triangle: inside all three edges, each at distance radius/2 from the centre.
        inside = np.ones(u.shape, dtype=bool)
        for k in range(3):
            a = angle + math.pi / 2 + 2 * math.pi * k / 3
            inside &= (x * math.cos(a) + y * math.sin(a)) <= 0.5 * radius
    elif shape == "cross":
        w = 0.28 * radius
        inside = ((abs(u) <= w) & (abs(v) <= radius)) | ((abs(v) <= w) & (abs(u) <= radius))
    else:
        raise ValueError(f"Unknown shape '{shape}': choose one of {', '.join(SHAPES)}.")
    inside = np.broadcast_to(inside, (size * s, size * s))
    return inside.reshape(size, s, size, s).mean(axis=(1, 3))  # (size, size): sub-pixels averaged


def pixels_of(tokens: list[str], size: int) -> np.ndarray:
    """Pixel tokens (row by row) -> float array [size, size] in [0, 1]."""
    levels = np.frombuffer("".join(tokens).encode("ascii"), dtype=np.uint8)
    values = np.where(levels >= ord("a"), levels - ord("a") + 10, levels - ord("0"))
    return (values.astype(np.float32) / (len(LEVELS) - 1)).reshape(size, size)


class Shapes(Task):
    name = "shapes"
    title = "Shapes (images)"
    description = ("Which shape is in a small noisy picture: disc, ring, square, frame, triangle or cross, "
                   "anywhere, at any size and angle.")
    teaches = ("Images as sequences: a Vision Transformer cuts the picture into patches, reads them as tokens, "
               "and learns from the data alone that neighbouring patches belong together.")
    kind = "classify"
    archs = IMAGE_ARCHS
    classes = SHAPES
    params = {"image_size": 16, "noise_percent": 3}
    param_ranges = {"image_size": (8, 28), "noise_percent": (0, 50)}
    param_help = {
        "image_size": "width and height of each picture, in pixels",
        "noise_percent": "pixel noise, in percent of full brightness",
    }

    def build_vocab(self) -> Vocab:
        return Vocab(tuple(LEVELS) + SHAPES, joiner="", unit="pixel", describe="grey levels 0-9, a-f")

    @property
    def image_size(self) -> int:
        return self.params["image_size"]

    def draw(self, rng: random.Random) -> Example:
        """One picture: the label first, then a shape of that kind somewhere in the frame."""
        size = self.image_size
        shape = rng.choice(SHAPES)
        radius = rng.uniform(0.28, 0.45) * size
        margin = 0.8 * radius  # most of the shape stays inside the frame
        cx, cy = rng.uniform(margin, size - margin), rng.uniform(margin, size - margin)
        ink = render(shape, size, cx, cy, radius, rng.uniform(0, 2 * math.pi))
        noise = np.random.default_rng(rng.getrandbits(63))
        background, brightness = rng.uniform(0.0, 0.15), rng.uniform(0.7, 1.0)
        image = background + (brightness - background) * ink
        image = image + noise.normal(0.0, self.params["noise_percent"] / 100, size=image.shape)
        levels = np.clip(np.rint(image * (len(LEVELS) - 1)), 0, len(LEVELS) - 1).astype(int)
        return Example([LEVELS[i] for i in levels.ravel()], [shape])

    def solve(self, src: list[str]) -> list[str]:
        raise ValueError("A picture's shape is known only from how it was drawn: pick one of the task's own images.")

    def parse(self, text: str) -> list[str]:
        """Rows of grey-level characters (0-9, a-f), whitespace ignored -> pixel tokens."""
        tokens = [c for c in text.lower() if not c.isspace()]
        n = self.image_size**2
        if len(tokens) != n:
            raise ValueError(f"A picture here has {self.image_size}x{self.image_size} = {n} pixels and the input "
                             f"has {len(tokens)}: type one grey level (0-9, a-f) per pixel.")
        self.vocab.check(tokens)
        if set(tokens) & set(SHAPES):
            raise ValueError("Type only grey levels 0-9 and a-f, one per pixel.")
        return tokens

    def format_src(self, tokens: list[str]) -> str:
        """The pixel tokens as rows of text, one line per image row."""
        s = self.image_size
        return "\n".join("".join(tokens[i * s:(i + 1) * s]) for i in range(len(tokens) // s))

    def pixels(self, example: Example) -> np.ndarray:
        """The example's picture: float array [image_size, image_size] in [0, 1]."""
        return pixels_of(example.src, self.image_size)

    @property
    def max_src_len(self) -> int:
        return self.image_size**2

    @property
    def max_tgt_len(self) -> int:
        return 1

    def max_len(self, layout: str) -> int:
        """For the "image" layout, the side of the picture in pixels (ModelConfig.max_len of a
        ViT or CNN: the ViT's grid is max_len / patch_size patches a side)."""
        if layout == "image":
            return self.image_size
        return super().max_len(layout)
