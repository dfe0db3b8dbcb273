"""The paper's regime: a dense rig gives the field enough views to render a held-out camera, a
sparse one does not (issue 17). Both data folders come from one synthetic dome capture and share
the held-out camera; the sparse one keeps only every third training camera.

Measured at this size (800 steps, torch seeds 0 and 1): the dense rig scores 1.5 and 2.9 dB higher
over the whole held-out frame and 0.07-0.08 higher SSIM; on the moving region alone the two rigs are
within a dB of each other at this length (+1.3 and 0.0 dB), so the test asserts on the whole frame.
The moving region's gain needs the demo's run (benchmarks/bench_nvs.py, dome against ring)."""

from __future__ import annotations

import shutil

import pytest
import torch

from humansync_ns.synthetic.capture import generate_capture
from humansync_ns.synthetic.config import SynthConfig

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e_training")]

STEPS = 800
CAMERAS = 13  # 12 training + the held-out one


def _train_and_score(config) -> dict:
    config.pipeline.model.camera_optimizer.mode = "off"  # the true calibration: only the field is compared
    config.pipeline.model.time_offsets.enabled = False
    config.pipeline.test_time_optimization.steps = 0
    torch.manual_seed(0)
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    trainer.train()
    return trainer.pipeline.get_average_eval_image_metrics()


@pytest.fixture(scope="module")
def scores(tmp_path_factory, small_trainer_config) -> dict:
    from humansync_ns.processing.process import process_capture

    root = tmp_path_factory.mktemp("dense")
    config = SynthConfig.panoptic_like(seed=2, num_cameras=CAMERAS, width=64, height=48, duration_s=1.2, fps=15.0,
                                       start_spread_s=0.2, length_jitter_s=0.1).noise_free()
    capture = generate_capture(config, root / "capture")
    truth = capture / "ground_truth" / "ground_truth.json"
    names = [f"cam{i:02d}" for i in range(CAMERAS)]
    subsets = {"dense": names, "sparse": names[:-1][::3] + names[-1:]}  # 4 training cameras, same held-out one
    results = {}
    for rig, kept in subsets.items():
        videos = root / f"videos_{rig}"
        videos.mkdir()
        for name in kept:
            shutil.copy(capture / "videos" / f"{name}.mp4", videos / f"{name}.mp4")
        process_capture(videos, root / f"data_{rig}", motion_dir=capture / "motion", calibration_path=truth,
                        ground_truth_path=truth, num_downscales=0)
        results[rig] = _train_and_score(small_trainer_config(root / f"data_{rig}", root / f"outputs_{rig}", STEPS))
    return results


def test_dense_rig_renders_a_held_out_view_better_than_a_sparse_one(scores):
    dense, sparse = scores["dense"], scores["sparse"]
    assert dense["psnr"] > sparse["psnr"] + 1.0, (dense, sparse)
    assert dense["ssim"] > sparse["ssim"] + 0.03, (dense, sparse)
