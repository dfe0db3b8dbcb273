"""How a pose correction moves a camera: the project's one convention (docs/conventions.md).

A correction is a (3, 4) matrix ``C = [R_c | t_c]`` in nerfstudio's scene box, made from an
SO3xR3 (or SE3) tangent ``[τ, ω]`` by nerfstudio's exponential maps. It acts in the **world frame**:
for an OpenGL camera-to-world ``[R | t]`` (column vectors, ``x_world = R x_cam + t``)

    corrected camera-to-world = [R_c · R | t + t_c]

so the rotation multiplies from the **left** and turns the camera's axes about its own centre
(which stays put under ``R_c``), and the translation is added in world coordinates, independently of
the rotation. For rays: ``origin → origin + t_c``, ``direction → R_c · direction``. This is how
training rays (``VideoPoseOptimizer.apply_to_raybundle``), test-time optimisation of a held-out
video, refined cameras and the exported calibration all move cameras, and how nerfstudio's
``CameraOptimizer.apply_to_raybundle`` / ``apply_to_camera`` apply theirs.

The exponential map and the rays' rotation run in fp32 even inside an autocast region (the
trainer's mixed precision): autocast would run their ``bmm`` in fp16 (bf16 on a CPU), which rounds
directions to about 5e-4 rad, more than the calibration errors being refined.

nerfstudio 1.1.5's viewer instead composes ``c2w @ delta`` (a **camera-frame** delta, right
multiplication) when it moves the training-camera frustums during training; ``camera_frame_delta``
gives the delta for which that composition equals the world-frame corrected pose.
"""

from __future__ import annotations

from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor
from typing_extensions import assert_never

from nerfstudio.cameras.lie_groups import exp_map_SE3, exp_map_SO3xR3

CorrectionMode = Literal["SO3xR3", "SE3"]


def correction_from_tangent(tangent: Float[Tensor, "*bs 6"], mode: CorrectionMode = "SO3xR3") -> Float[Tensor, "*bs 3 4"]:
    """``[R_c | t_c]`` of tangents ``[τ, ω]`` (translation first, nerfstudio's order)."""
    flat = tangent.reshape(-1, 6).float()
    with torch.autocast(flat.device.type, enabled=False):  # fp32 geometry (module docstring)
        if mode == "SO3xR3":
            matrices = exp_map_SO3xR3(flat)
        elif mode == "SE3":
            matrices = exp_map_SE3(flat)
        else:
            assert_never(mode)
    return matrices.reshape(*tangent.shape[:-1], 3, 4)


def correct_camera_to_worlds(
    camera_to_worlds: Float[Tensor, "*bs 3 4"], correction: Float[Tensor, "*bs 3 4"]
) -> Float[Tensor, "*bs 3 4"]:
    """``[R_c·R | t + t_c]``: world-frame corrections applied to camera-to-world poses."""
    rotation = correction[..., :3, :3] @ camera_to_worlds[..., :3, :3]
    return torch.cat([rotation, camera_to_worlds[..., :3, 3:] + correction[..., :3, 3:]], dim=-1)


def correct_rays(
    origins: Float[Tensor, "*bs 3"], directions: Float[Tensor, "*bs 3"], correction: Float[Tensor, "*bs 3 4"]
) -> tuple[Float[Tensor, "*bs 3"], Float[Tensor, "*bs 3"]]:
    """Ray origins and directions of a camera moved by world-frame corrections: ``o + t_c``,
    ``R_c·d`` (one correction per ray, or one (3, 4) correction for all of them)."""
    with torch.autocast(directions.device.type, enabled=False):  # fp32 geometry (module docstring)
        correction = correction.float()
        moved_directions = (correction[..., :3, :3] @ directions.float()[..., None])[..., 0]
        return origins.float() + correction[..., :3, 3], moved_directions


def camera_frame_delta(
    camera_rotations: Float[Tensor, "*bs 3 3"], correction: Float[Tensor, "*bs 3 4"]
) -> Float[Tensor, "*bs 3 4"]:
    """The camera-frame delta ``D = [Rᵀ·R_c·R | Rᵀ·t_c]`` of a world-frame correction of a camera
    with rotation ``R``: ``[R | t] @ D`` (as 4x4 matrices) equals ``[R_c·R | t + t_c]`` for any ``t``."""
    rotation_t = camera_rotations.transpose(-1, -2)
    return torch.cat(
        [rotation_t @ correction[..., :3, :3] @ camera_rotations, rotation_t @ correction[..., :3, 3:]], dim=-1
    )
