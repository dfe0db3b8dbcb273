"""Offline-safe image metrics: closed-form PSNR, SSIM bounds, and both LPIPS paths without network."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from humansync_ns.pipeline.metrics import (
    ImageMetrics,
    find_lpips_backbone,
    masked_psnr,
    moving_pixel_masks,
    psnr,
    ssim,
    torchvision_checkpoint_name,
)


@pytest.fixture()
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A torch hub cache with no checkpoints, so LPIPS must report itself unavailable."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


@pytest.mark.parametrize("offset", [0.1, 0.05, 0.01])
def test_psnr_of_constant_offset_is_closed_form(offset: float) -> None:
    target = torch.full((8, 10, 3), 0.5)
    pred = target + offset
    assert float(psnr(pred, target)) == pytest.approx(-10 * math.log10(offset**2), abs=1e-3), f"offset {offset}"


def test_psnr_is_mean_of_per_image_values() -> None:
    target = torch.zeros(2, 4, 4, 3)
    pred = torch.stack([torch.full((4, 4, 3), 0.1), torch.full((4, 4, 3), 0.01)])
    assert float(psnr(pred, target)) == pytest.approx((20.0 + 40.0) / 2, abs=1e-3)


def test_ssim_is_one_for_identical_and_lower_for_noise() -> None:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(32, 32, 3, generator=generator)
    noisy = (image + 0.2 * torch.randn(32, 32, 3, generator=generator)).clamp(0, 1)
    assert float(ssim(image, image)) == pytest.approx(1.0, abs=1e-5)
    assert float(ssim(noisy, image)) < 0.9


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(torch.zeros(4, 4, 3), torch.zeros(4, 5, 3))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        psnr(torch.zeros(4, 4), torch.zeros(4, 4))


def _walking_square(num_frames: int = 9, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of a textured static background with a red 4x4 square moving 3 px per frame, and
    the square's true masks."""
    torch.manual_seed(0)
    background = 0.3 + 0.2 * torch.rand(size, size, 3)
    frames = background.expand(num_frames, size, size, 3).clone()
    masks = torch.zeros(num_frames, size, size, dtype=torch.bool)
    for t in range(num_frames):
        masks[t, 10:14, 2 + 3 * t : 6 + 3 * t] = True
        frames[t][masks[t]] = torch.tensor([0.9, 0.1, 0.1])
    return frames, masks


def test_moving_pixel_masks_find_the_moving_square() -> None:
    frames, truth = _walking_square()
    np.testing.assert_array_equal(moving_pixel_masks(frames + 0.01 * torch.randn_like(frames), 0.1).numpy(), truth.numpy())
    with pytest.raises(ValueError, match="at least 3 frames"):
        moving_pixel_masks(frames[:2], 0.1)


def test_dynamic_psnr_sees_a_desynchronised_render_that_whole_frame_psnr_hides(empty_hub: Path) -> None:
    frames, masks = _walking_square()
    late = torch.roll(frames, shifts=1, dims=0)  # every frame shows the square one frame late
    late[0] = frames[0]
    metrics = ImageMetrics("alex")  # LPIPS unavailable (empty hub): only the PSNR keys matter here
    scores = [metrics(late[t], frames[t], masks[t]) for t in range(1, len(frames))]
    # ~24 of 1024 pixels wrong: whole-frame PSNR stays above 22 dB, the moving region's falls below 12 dB
    assert min(s["psnr"] for s in scores) > 22.0
    assert max(s["psnr_dynamic"] for s in scores) < 12.0
    assert metrics(frames[3], frames[3], masks[3])["psnr_dynamic"] == pytest.approx(100.0)  # MSE floored at 1e-10
    assert masked_psnr(frames[3], frames[3], torch.zeros(32, 32, dtype=torch.bool)) is None
    assert "psnr_dynamic" not in metrics(frames[3], frames[3], torch.zeros(32, 32, dtype=torch.bool))


def test_lpips_unavailable_prints_one_line_and_keeps_other_metrics(empty_hub: Path, capsys) -> None:
    assert find_lpips_backbone("alex") is None
    metrics = ImageMetrics("alex")
    printed = capsys.readouterr().out
    assert "LPIPS unavailable" in printed
    assert printed.count("LPIPS unavailable") == 1
    assert len([line for line in printed.splitlines() if line.strip()]) == 1, f"one line, got: {printed!r}"
    assert not metrics.lpips_available
    target = torch.full((16, 16, 3), 0.5)
    values = metrics(target + 0.1, target)
    assert set(values) == {"psnr", "ssim"}, "LPIPS must be absent, not faked"
    assert values["psnr"] == pytest.approx(20.0, abs=1e-3)
    assert "LPIPS" not in capsys.readouterr().out, "the unavailable line is printed once, at construction"


@pytest.fixture(scope="module")
def alexnet_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for the ImageNet AlexNet checkpoint (random weights, same layout), written once."""
    import torchvision.models

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def test_lpips_uses_user_given_weights(alexnet_weights: Path, empty_hub: Path) -> None:
    weights = alexnet_weights
    metrics = ImageMetrics("alex", lpips_weights=weights)
    assert metrics.lpips_available
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(64, 64, 3, generator=generator)
    other = torch.rand(64, 64, 3, generator=generator)
    assert metrics(image, image)["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert metrics(other, image)["lpips"] > 1e-4


def test_lpips_found_in_hub_cache_by_torchvision_file_name(alexnet_weights: Path, empty_hub: Path) -> None:
    name = torchvision_checkpoint_name("alex")
    assert name.startswith("alexnet") and name.endswith(".pth")
    (empty_hub / "checkpoints").mkdir(parents=True)
    (empty_hub / "checkpoints" / name).symlink_to(alexnet_weights)
    assert find_lpips_backbone("alex") == empty_hub / "checkpoints" / name
    assert ImageMetrics("alex").lpips_available


def test_missing_user_weights_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="LPIPS backbone weights not found"):
        ImageMetrics("alex", lpips_weights=tmp_path / "nope.pth")
