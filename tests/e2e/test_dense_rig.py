"""The paper's regime: a dense rig gives the field enough views to render the moving person in a
held-out camera, a sparse one does not (issue 17). Both data folders come from one synthetic dome
capture and share the held-out camera; the sparse one keeps only every third training camera."""

from __future__ import annotations

import copy
import shutil

import pytest
import torch

from humansync_ns.synthetic.capture import generate_capture
from humansync_ns.synthetic.config import SynthConfig

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e_training")]

STEPS = 300
CAMERAS = 13  # 12 training + the held-out one


def _train_and_score(data_dir, output_dir) -> dict:
    from humansync_ns.method_configs import PEOPLE_FOCUS, fit_schedule, humansync_small_method, set_dotted

    config = copy.deepcopy(humansync_small_method.config)
    config.output_dir = output_dir
    config.vis = "tensorboard"
    config.machine.device_type = "cpu"
    config.steps_per_eval_batch = config.steps_per_eval_image = config.steps_per_eval_all_images = 10**6
    config.steps_per_save = 10**6
    fit_schedule(config, STEPS)
    for dotted, value in PEOPLE_FOCUS.items():
        set_dotted(config, dotted, value)
    datamanager = config.pipeline.datamanager
    datamanager.data = datamanager.dataparser.data = data_dir
    datamanager.train_num_rays_per_batch = 512
    config.pipeline.model.camera_optimizer.mode = "off"  # the true calibration: only the field is compared
    config.pipeline.model.time_offsets.enabled = False
    config.pipeline.test_time_optimization.steps = 0
    torch.manual_seed(0)
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    trainer.train()
    return trainer.pipeline.get_average_eval_image_metrics()


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict:
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
        results[rig] = _train_and_score(root / f"data_{rig}", root / f"outputs_{rig}")
    return results


def test_dense_rig_renders_the_moving_person_better_in_a_held_out_view(scores):
    dense, sparse = scores["dense"], scores["sparse"]
    assert dense["psnr_dynamic"] > sparse["psnr_dynamic"] + 1.0, (dense, sparse)
    assert dense["psnr"] > sparse["psnr"], (dense, sparse)
