"""Which pixels a batch of rays comes from: a rotating subset of frames, then pixels inside them.

Only the frames of the current subset need to be decoded, so memory depends on the subset and
cache sizes, never on the capture's length. The subset walks through a seeded permutation of all
frames, so every frame is used once per pass before any repeats.

Under DDP (one process per device) every rank draws from its own share of the frames
(`rank_images`) with its own seed (`rank_seed`), so the ranks' rays differ and no frame is decoded
by two processes.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from jaxtyping import Float, Int, UInt8
from torch import Tensor


class RotatingSubset:
    """Indices of `size` frames at a time, replaced after `repeat` batches.

    Args:
        num_images: Frames to choose from.
        size: Frames per subset (clamped to `num_images`).
        repeat: Batches drawn from one subset before the next; <= 0 keeps the first forever.
        seed: Seed of the permutation.
    """

    def __init__(self, num_images: int, size: int, repeat: int, seed: int = 0):
        if num_images < 1:
            raise ValueError("RotatingSubset needs at least one image")
        self.num_images = num_images
        self.size = max(1, min(int(size), num_images)) if size > 0 else num_images
        self.repeat = int(repeat)
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(num_images)
        self._cursor = 0
        self._uses = 0
        self._current: Optional[list[int]] = None

    def _advance(self) -> list[int]:
        picked: list[int] = []
        while len(picked) < self.size:
            if self._cursor >= self.num_images:
                self._order = self._rng.permutation(self.num_images)
                self._cursor = 0
            take = self._order[self._cursor : self._cursor + self.size - len(picked)]
            picked.extend(int(i) for i in take if int(i) not in picked)
            self._cursor += len(take)
        return sorted(picked)

    def next(self) -> tuple[list[int], bool]:
        """The subset for the next batch and whether it changed since the previous call."""
        due = self._current is None or (self.repeat > 0 and self._uses >= self.repeat)
        if due:
            self._current = self._advance()
            self._uses = 0
        self._uses += 1
        assert self._current is not None
        return self._current, due


def rank_seed(seed: int, rank: int) -> int:
    """Seed of one process's sampling stream: rank 0 keeps `seed` (a one-process run is unchanged),
    every other rank gets an independent seed derived from `(seed, rank)` by numpy's `SeedSequence`,
    so no two ranks share a stream (`seed + rank` would give rank 1 rank 0's eval stream)."""
    if rank == 0:
        return seed
    return int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


def rank_images(num_images: int, world_size: int, rank: int) -> list[int]:
    """The images one of `world_size` ranks trains on: every `world_size`-th from `rank` on, so the
    frames of each video are spread over all ranks and every image belongs to exactly one rank."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside a world of {world_size} processes")
    if num_images < world_size:
        raise ValueError(f"{num_images} images cannot be shared among {world_size} processes (at least one each)")
    return list(range(rank, num_images, world_size))


class PixelDistribution:
    """Importance over the pixels of one (H, W) image: a row, then a column inside it.

    Two levels keep float precision at 1K+ resolutions, where one cumulative sum over all pixels
    would round the background's small probabilities away. The column level is stored flat as
    `row + cdf_row(col)` (float64, monotonic), so one `searchsorted` finds both at once.
    Memory: 8 bytes per pixel.
    """

    def __init__(self, weights: Float[np.ndarray, "H W"]):
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 2 or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"pixel weights must be a finite, non-negative (H, W) array with positive sum, got {weights.shape}")
        self.height, self.width = weights.shape
        row_mass = weights.sum(axis=1)
        self.row_cdf = torch.from_numpy(np.cumsum(row_mass) / row_mass.sum())
        within = np.where(row_mass[:, None] > 0, weights / np.maximum(row_mass[:, None], 1e-300), 1.0 / self.width)
        flat = np.cumsum(within, axis=1)
        flat[:, -1] = 1.0
        self.flat_cdf = torch.from_numpy((flat + np.arange(self.height)[:, None]).reshape(-1))

    def sample(self, count: int, generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor]:
        """(count,) rows and (count,) columns."""
        u = torch.rand(2, count, generator=generator, dtype=torch.float64)
        rows = torch.searchsorted(self.row_cdf, u[0], right=True).clamp_(max=self.height - 1)
        flat = torch.searchsorted(self.flat_cdf, rows + u[1], right=True).clamp_(max=self.flat_cdf.numel() - 1)
        # keeps the pixel inside the chosen row even where a zero-weight tail repeats the row's end
        cols = (flat - rows * self.width).clamp_(min=0, max=self.width - 1)
        return rows, cols


def sample_rays(
    frames: Sequence[UInt8[Tensor, "H W 3"]],
    image_indices: Sequence[int],
    num_rays: int,
    generator: Optional[torch.Generator] = None,
    distributions: Optional[Sequence[Optional[PixelDistribution]]] = None,
) -> tuple[Int[Tensor, "num_rays 3"], Float[Tensor, "num_rays 3"]]:
    """Draws `num_rays` pixels: a frame uniformly from `frames`, then a pixel (uniform, or from that
    frame's `PixelDistribution`).

    Returns:
        `(camera_index, row, column)` per ray, as nerfstudio's `RayGenerator` takes them, and the
        pixels' RGB in [0, 1].
    """
    which = torch.randint(len(frames), (num_rays,), generator=generator)
    counts = torch.bincount(which, minlength=len(frames)).tolist()
    indices, colors = [], []
    for k, count in enumerate(counts):
        if count == 0:
            continue
        frame = frames[k]
        height, width = frame.shape[:2]
        distribution = distributions[k] if distributions is not None else None
        if distribution is not None:
            rows, cols = distribution.sample(count, generator)
        else:
            rows = torch.randint(height, (count,), generator=generator)
            cols = torch.randint(width, (count,), generator=generator)
        camera = torch.full((count,), int(image_indices[k]), dtype=torch.long)
        indices.append(torch.stack([camera, rows, cols], dim=-1))
        colors.append(frame[rows, cols])
    rgb = torch.cat(colors).float() / 255.0
    return torch.cat(indices), rgb
