"""Offline-safe image metrics: closed-form PSNR, SSIM bounds, and both LPIPS paths without network."""

import math
from pathlib import Path

import pytest
import torch

from humansync_ns.pipeline.metrics import ImageMetrics, find_lpips_backbone, psnr, ssim, torchvision_checkpoint_name


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
