"""One tiny humansync model trained once per session (CPU, well under a minute), shared by the
evaluation, rendering, export and viewer tests, plus the pipeline loaded from its config."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from humansync_ns.calibration.calibration_io import Calibration
from humansync_ns.processing.procedural import procedural_calibration, write_procedural_data_folder

TRAIN_STEPS = 70


class TrainedRun(NamedTuple):
    config_path: Path
    data_dir: Path
    calibration: Calibration
    """The calibration the data was processed with (also its ground truth)."""


def tiny_trainer_config(data_dir: Path, output_dir: Path):
    """`humansync-small` shrunk to a few seconds of CPU: small grids, few rays, poses refined from
    step 5 and time offsets from step 10 so both corrections are non-zero after training."""
    from humansync_ns.method_configs import humansync_small_method

    config = copy.deepcopy(humansync_small_method.config)  # never change the shared preset
    config.output_dir = output_dir
    config.experiment_name = "tiny"
    config.timestamp = "run"
    config.vis = "tensorboard"
    config.machine.device_type = "cpu"
    config.max_num_iterations = TRAIN_STEPS
    config.steps_per_save = TRAIN_STEPS
    config.steps_per_eval_batch = config.steps_per_eval_image = config.steps_per_eval_all_images = 10**6
    datamanager = config.pipeline.datamanager
    datamanager.data = data_dir
    datamanager.dataparser.data = data_dir
    datamanager.train_num_rays_per_batch = datamanager.eval_num_rays_per_batch = 256
    model = config.pipeline.model
    model.grid_base_resolution = (16, 16, 16)
    model.time_resolution = 8
    model.multiscale_res = (1, 2)
    model.grid_feature_dim = 8
    model.proposal_net_args_list = [{"num_components": 4, "resolution": (16, 16, 16), "hidden_dim": 16}]
    model.proposal_time_resolution = 6
    model.num_proposal_samples_per_ray = (32,)
    model.num_nerf_samples_per_ray = 16
    model.pose_start_step = 5
    model.time_offset_delay = 5
    model.coarse_to_fine_end_step = 0
    model.eval_num_rays_per_chunk = 4096
    # without the preset's pull of the offsets toward the calibration's, which holds them over so few steps
    model.loss_coefficients = {**model.loss_coefficients, "time_offset_l1": 0.0}
    for name in ("camera_opt", "time_offsets"):
        config.optimizers[name]["scheduler"].warmup_steps = 0  # full rate as soon as they unfreeze
    config.pipeline.test_time_optimization.steps = 20
    config.pipeline.test_time_optimization.rays_per_batch = 256
    return config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    root = tmp_path_factory.mktemp("trained")
    calibration = procedural_calibration(num_videos=4, num_frames=12, fps=10.0, width=32, height=24, seed=3)
    data_dir = write_procedural_data_folder(root, calibration)
    config = tiny_trainer_config(data_dir, root / "outputs")
    torch.manual_seed(0)
    config.save_config()
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    trainer.train()
    return TrainedRun(config.get_base_dir() / "config.yml", data_dir, calibration)


@pytest.fixture(scope="session")
def loaded(trained_run: TrainedRun):
    """(config, pipeline) as ns-eval / ns-viewer / ns-render load them."""
    from nerfstudio.utils.eval_utils import eval_setup

    config, pipeline, _, _ = eval_setup(trained_run.config_path, test_mode="test")
    return config, pipeline
