"""Dynamic-pixel importance weights: cheap stand-ins for K-Planes' ISG/IST sampling.

For a static camera, pixels that see people change over time and the background does not. Two
kinds of weights, over `num_frames` evenly spaced frames of a video at the training resolution
(colours in [0, 1]):

- per video (`temporal_variance_weights`): wherever the people ever are,

      v(p) = mean over RGB of the temporal variance of I_t(p)
      w(p) = floor + (1 − floor) · v(p) / (v(p) + gamma²)

- per frame (`frame_difference_weights`): where the people are in *that* frame, from its difference
  to the video's background B (the temporal median, `temporal_median`),

      d_t(p) = max over RGB of |I_t(p) − B(p)|
      w_t(p) = floor + (1 − floor) · d_t(p)² / (d_t(p)² + gamma²)

so static pixels get weight ≈ `floor` and changing ones ≈ 1. A walking person covers a few per cent
of a frame but a wide band of it over the whole video, so per-frame weights put several times more
rays on the person than per-video ones. Moving cameras get uniform weights (everything changes).
The per-video weights and backgrounds are computed once per video and resolution and cached next
to the data as `pixel_weights/<video>_<W>x<H>.npy` and `..._background.npy`.
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


def temporal_median(frames_uint8: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of one static camera → (H, W, 3) uint8 background: a pixel's
    median over time is what it shows when nobody stands in front of it."""
    if frames_uint8.ndim != 4 or frames_uint8.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {frames_uint8.shape}")
    return np.median(frames_uint8, axis=0).round().astype(np.uint8)


def frame_difference_weights(frame_uint8: np.ndarray, background_uint8: np.ndarray, gamma: float, floor: float) -> np.ndarray:
    """(H, W, 3) uint8 frame and background → (H, W) float32 weights in [floor, 1] (module docstring)."""
    if frame_uint8.shape != background_uint8.shape:
        raise ValueError(f"frame {frame_uint8.shape} and background {background_uint8.shape} differ in shape")
    if not (gamma > 0 and 0 <= floor <= 1):
        raise ValueError(f"need gamma > 0 and 0 <= floor <= 1, got gamma={gamma}, floor={floor}")
    difference = np.abs(frame_uint8.astype(np.float32) - background_uint8.astype(np.float32)).max(axis=-1) / 255.0
    squared = difference**2
    return (floor + (1.0 - floor) * squared / (squared + gamma**2)).astype(np.float32)


def weights_path(data_root: Path, video_name: str, width: int, height: int) -> Path:
    return data_root / WEIGHTS_FOLDER / f"{video_name}_{width}x{height}.npy"


def background_path(data_root: Path, video_name: str, width: int, height: int) -> Path:
    return data_root / WEIGHTS_FOLDER / f"{video_name}_{width}x{height}_background.npy"


def _sample_frames(frame_keys: Sequence, load_frame: Callable[[object], Tensor], num_frames: int) -> np.ndarray:
    """(T, H, W, 3) uint8: `num_frames` evenly spaced frames of a video (all when it has fewer)."""
    picks = np.unique(np.linspace(0, len(frame_keys) - 1, min(num_frames, len(frame_keys))).round().astype(int))
    return np.stack([load_frame(frame_keys[i]).numpy() for i in picks])


def _cached(path: Path, shape: tuple, compute: Callable[[], np.ndarray], what: str) -> np.ndarray:
    """The array stored at `path` when it has `shape`, else `compute()` written there."""
    if path.is_file():
        cached = np.load(path)
        if cached.shape == shape:
            return cached
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole, then renamed: DDP ranks compute the same file at once, and one must never
        # read another's half-written file
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, value)
        os.replace(partial, path)
    except OSError as err:
        CONSOLE.print(f"[yellow]{what} not cached ({err}); recomputed next run")
    return value


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
    """(H, W) per-video weights of one video, read from the disk cache or computed and written there.

    Args:
        frame_keys: Keys of the video's frames in time order, passed to `load_frame`.
        load_frame: Returns a frame as uint8 (H, W, 3) at (width, height).
    """
    if moving:
        return np.ones((height, width), dtype=np.float32)
    return _cached(
        weights_path(data_root, video_name, width, height), (height, width),
        lambda: temporal_variance_weights(_sample_frames(frame_keys, load_frame, num_frames), gamma, floor),
        f"pixel weights for {video_name}",
    ).astype(np.float32)


def load_or_compute_background(
    data_root: Path,
    video_name: str,
    width: int,
    height: int,
    moving: bool,
    frame_keys: Sequence,
    load_frame: Callable[[object], Tensor],
    num_frames: int = 24,
) -> Optional[np.ndarray]:
    """(H, W, 3) uint8 background of one video (cached like the weights); None for a moving camera,
    which has no fixed background."""
    if moving:
        return None
    return _cached(
        background_path(data_root, video_name, width, height), (height, width, 3),
        lambda: temporal_median(_sample_frames(frame_keys, load_frame, num_frames)),
        f"background of {video_name}",
    ).astype(np.uint8)


def weights_to_cdf(weights: np.ndarray) -> Float[Tensor, "num_pixels"]:
    """Row-major cumulative distribution of (H, W) weights, float64, last entry 1."""
    flat = torch.from_numpy(np.asarray(weights, dtype=np.float64).reshape(-1))
    cdf = torch.cumsum(flat, dim=0)
    return cdf / cdf[-1]


def sample_from_cdf(cdf: Tensor, count: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """(count,) flat pixel indices drawn with probability proportional to the weights."""
    u = torch.rand(count, generator=generator, dtype=torch.float64)
    return torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.numel() - 1)
