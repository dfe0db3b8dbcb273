"""Dynamic-pixel importance weights: a cheap per-video stand-in for K-Planes' ISG/IST sampling.

For a static camera, pixels that see people change over time and the background does not. Per
video, over `num_frames` evenly spaced frames at the training resolution:

    v(p) = mean over RGB of the temporal variance of I_t(p)        (colours in [0, 1])
    w(p) = floor + (1 − floor) · v(p) / (v(p) + gamma²)

so static pixels get weight ≈ `floor` and pixels with temporal std ≫ `gamma` get ≈ 1. Moving
cameras get uniform weights (everything changes). Weights are computed once per video and
resolution and cached next to the data as `pixel_weights/<video>_<W>x<H>.npy`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from nerfstudio.utils.rich_utils import CONSOLE

WEIGHTS_FOLDER = "pixel_weights"


def temporal_variance_weights(frames_uint8: np.ndarray, gamma: float, floor: float) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of one static camera → (H, W) float32 weights in [floor, 1]."""
    if frames_uint8.ndim != 4 or frames_uint8.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {frames_uint8.shape}")
    if not (gamma > 0 and 0 <= floor <= 1):
        raise ValueError(f"need gamma > 0 and 0 <= floor <= 1, got gamma={gamma}, floor={floor}")
    frames = frames_uint8.astype(np.float32) / 255.0
    variance = frames.var(axis=0).mean(axis=-1)  # (H, W)
    return (floor + (1.0 - floor) * variance / (variance + gamma**2)).astype(np.float32)


def weights_path(data_root: Path, video_name: str, width: int, height: int) -> Path:
    return data_root / WEIGHTS_FOLDER / f"{video_name}_{width}x{height}.npy"


def load_or_compute_weights(
    data_root: Path,
    video_name: str,
    width: int,
    height: int,
    moving: bool,
    frame_keys: Sequence,
    load_frame: Callable[[object], Tensor],
    num_frames: int = 24,
    gamma: float = 0.03,
    floor: float = 0.05,
) -> np.ndarray:
    """(H, W) weights of one video, read from the disk cache or computed and written there.

    Args:
        frame_keys: Keys of the video's frames in time order, passed to `load_frame`.
        load_frame: Returns a frame as uint8 (H, W, 3) at (width, height).
    """
    if moving:
        return np.ones((height, width), dtype=np.float32)
    path = weights_path(data_root, video_name, width, height)
    if path.is_file():
        cached = np.load(path)
        if cached.shape == (height, width):
            return cached.astype(np.float32)
    picks = np.unique(np.linspace(0, len(frame_keys) - 1, min(num_frames, len(frame_keys))).round().astype(int))
    frames = np.stack([load_frame(frame_keys[i]).numpy() for i in picks])
    weights = temporal_variance_weights(frames, gamma, floor)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole, then renamed: DDP ranks compute the same file at once, and one must never
        # read another's half-written file
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, weights)
        os.replace(partial, path)
    except OSError as err:
        CONSOLE.print(f"[yellow]pixel weights for {video_name} not cached ({err}); recomputed next run")
    return weights


def weights_to_cdf(weights: np.ndarray) -> Float[Tensor, "num_pixels"]:
    """Row-major cumulative distribution of (H, W) weights, float64, last entry 1."""
    flat = torch.from_numpy(np.asarray(weights, dtype=np.float64).reshape(-1))
    cdf = torch.cumsum(flat, dim=0)
    return cdf / cdf[-1]


def sample_from_cdf(cdf: Tensor, count: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """(count,) flat pixel indices drawn with probability proportional to the weights."""
    u = torch.rand(count, generator=generator, dtype=torch.float64)
    return torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.numel() - 1)
