"""Offline-safe image metrics: PSNR, SSIM and, when its backbone weights are already on disk, LPIPS;
and PSNR over the moving region of a frame (the people), where a time error can show.

torchmetrics' LPIPS builds its AlexNet/VGG backbone through torchvision with pretrained weights,
which downloads them on first use and crashes without network. Here the backbone is built with
random weights (no download), and the ImageNet weights are loaded from a file found beforehand:
a path the user gives, or torchvision's checkpoint name in the local torch hub cache. When neither
exists LPIPS is reported as unavailable (one line, key absent from the results), never faked.

People cover a few per cent of a frame, so whole-frame scores are dominated by the static
background, which a model learns the same whatever its time offsets: a video off by a frame or
two scores nearly as well as a synchronised one. `moving_pixel_masks` finds, per frame, the pixels that differ
from the video's static background (its per-pixel temporal median), and `psnr_dynamic` is PSNR
over those pixels only.

Images are `(H, W, 3)` or `(N, H, W, 3)` float tensors in [0, 1] (nerfstudio's layout).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Optional

import torch
from jaxtyping import Bool, Float
from torch import Tensor, nn
from torchmetrics.functional.image import structural_similarity_index_measure

from nerfstudio.utils.rich_utils import CONSOLE

LpipsNet = Literal["alex", "vgg"]

# torchvision's weight enums for each LPIPS backbone; their `url` basename is the file name that
# torch.hub caches under `<hub dir>/checkpoints/`.
_TORCHVISION_WEIGHTS = {"alex": ("alexnet", "AlexNet_Weights"), "vgg": ("vgg16", "VGG16_Weights")}


def _as_batch(image: Tensor, name: str) -> Float[Tensor, "N H W 3"]:
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(f"{name}: expected an (H, W, 3) or (N, H, W, 3) image, got shape {tuple(image.shape)}")
    return image.float()


def _check_pair(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    pred, target = _as_batch(pred, "pred"), _as_batch(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    return pred, target.to(pred.device)


def _psnr_of_mse(mse: Tensor) -> Tensor:
    """`-10 log10(mse)` for images in [0, 1], the MSE floored at 1e-10 (100 dB for a perfect match)."""
    return -10.0 * torch.log10(mse.clamp_min(1e-10))


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: `-10 log10(mean((pred - target)²))`,
    averaged over the batch (per-image PSNR, then the mean, as nerfstudio's evaluation does)."""
    pred, target = _check_pair(pred, target)
    mse = ((pred - target) ** 2).flatten(1).mean(dim=1)
    return _psnr_of_mse(mse).mean()


def moving_pixel_masks(frames: Tensor, threshold: float) -> Bool[Tensor, "N H W"]:
    """Per frame of one static video: pixels whose colour differs from the video's per-pixel
    temporal median (its static background, when nothing stays on a pixel for half the frames) by
    more than `threshold` in some channel."""
    frames = _as_batch(frames, "frames")
    if frames.shape[0] < 3:
        raise ValueError(f"moving_pixel_masks needs at least 3 frames to estimate a background, got {frames.shape[0]}")
    background = frames.median(dim=0).values
    return (frames - background).abs().amax(dim=-1) > threshold


def masked_psnr(pred: Tensor, target: Tensor, mask: Tensor) -> Optional[float]:
    """PSNR (dB) over the pixels of one image where `mask` (H, W) is set; None when it is empty."""
    pred, target = _check_pair(pred, target)
    mask = mask.to(pred.device).reshape(pred.shape[1:3])
    if not bool(mask.any()):
        return None
    mse = ((pred[0] - target[0]) ** 2)[mask].mean()
    return float(_psnr_of_mse(mse))


def ssim(pred: Tensor, target: Tensor) -> Tensor:
    """Structural similarity (Gaussian window 11, σ 1.5, data range 1), mean over the batch."""
    pred, target = _check_pair(pred, target)
    value = structural_similarity_index_measure(pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2), data_range=1.0)
    assert isinstance(value, Tensor)
    return value


def torchvision_checkpoint_name(net: LpipsNet) -> str:
    """The file name torch.hub gives the ImageNet backbone of LPIPS `net` (read from torchvision's
    weight enum, no network)."""
    import torchvision.models

    _, enum_name = _TORCHVISION_WEIGHTS[net]
    return Path(getattr(torchvision.models, enum_name).IMAGENET1K_V1.url).name


def find_lpips_backbone(net: LpipsNet = "alex", weights_path: Optional[Path] = None) -> Optional[Path]:
    """Where the backbone weights for LPIPS are on disk, or None. Never downloads.

    Args:
        net: LPIPS backbone.
        weights_path: a user-given checkpoint (a torchvision state dict of the backbone); when given
            it must exist, else `FileNotFoundError`.
    """
    if weights_path is not None:
        weights_path = Path(weights_path)
        if not weights_path.is_file():
            raise FileNotFoundError(f"LPIPS backbone weights not found at {weights_path}")
        return weights_path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / torchvision_checkpoint_name(net)
    return cached if cached.is_file() else None


def _load_backbone(lpips_module: nn.Module, net: LpipsNet, weights_path: Path) -> None:
    """Copies a torchvision backbone state dict into torchmetrics' LPIPS slices, which hold the
    backbone's `features[i]` modules under their original index `i`."""
    import torchvision.models

    arch, _ = _TORCHVISION_WEIGHTS[net]
    backbone = getattr(torchvision.models, arch)(weights=None)
    backbone.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    features = backbone.features
    loaded = 0
    for slice_module in lpips_module.net.children():
        for index, layer in slice_module.named_children():
            layer.load_state_dict(features[int(index)].state_dict())
            loaded += 1
    if loaded == 0:
        raise RuntimeError(f"no backbone layers found in torchmetrics' LPIPS ({net})")


def build_lpips(net: LpipsNet = "alex", weights_path: Optional[Path] = None) -> Optional[nn.Module]:
    """torchmetrics' LPIPS network with its backbone loaded from local weights, or None (with one
    printed line saying why) when the weights are not on disk."""
    found = find_lpips_backbone(net, weights_path)
    if found is None:
        expected = Path(torch.hub.get_dir()) / "checkpoints" / torchvision_checkpoint_name(net)
        CONSOLE.print(
            f"[yellow]LPIPS unavailable: no {net} backbone weights at {expected} (copy torchvision's file "
            "there, or set the pipeline's lpips_weights to a local copy); reporting PSNR and SSIM only.",
            soft_wrap=True,  # one line, however narrow the terminal
        )
        return None
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    # pnet_rand=True: torchvision builds the backbone without weights (no download); the linear
    # heads come from the files torchmetrics ships; the backbone is loaded from `found` below.
    module = _NoTrainLpips(pretrained=True, net=net, pnet_rand=True)
    _load_backbone(module, net, found)
    return module.eval()


class ImageMetrics:
    """PSNR, SSIM and (when available) LPIPS of a rendered image against its ground truth.

    Args:
        lpips_net: LPIPS backbone.
        lpips_weights: optional local checkpoint of the backbone; otherwise the torch hub cache is
            searched; otherwise LPIPS is left out of the results.
    """

    def __init__(self, lpips_net: LpipsNet = "alex", lpips_weights: Optional[Path] = None) -> None:
        self.lpips_net = build_lpips(lpips_net, lpips_weights)

    @property
    def lpips_available(self) -> bool:
        return self.lpips_net is not None

    @torch.no_grad()
    def __call__(self, pred: Tensor, target: Tensor, moving: Optional[Tensor] = None) -> dict[str, float]:
        """Metrics of `pred` against `target` (each `(H, W, 3)` or `(N, H, W, 3)` in [0, 1]):
        `psnr`, `ssim`, `lpips` (only when available) and, given the `(H, W)` mask `moving` of one
        image (`moving_pixel_masks`), `psnr_dynamic` (only when the mask is not empty)."""
        pred, target = _check_pair(pred, target)
        pred = pred.clamp(0.0, 1.0)
        out = {"psnr": float(psnr(pred, target)), "ssim": float(ssim(pred, target))}
        if moving is not None:
            dynamic = masked_psnr(pred, target, moving)
            if dynamic is not None:
                out["psnr_dynamic"] = dynamic
        if self.lpips_net is not None:
            self.lpips_net.to(pred.device)
            value = self.lpips_net(pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2), normalize=True)
            out["lpips"] = float(value.mean())
        if not all(math.isfinite(v) for v in out.values()):
            raise FloatingPointError(f"non-finite image metric: {out}")
        return out
