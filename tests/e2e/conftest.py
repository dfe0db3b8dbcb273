"""The end-to-end trainings' shared setup: `humansync-small` as the demo trains it, sized for CI."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture(scope="session")
def small_trainer_config() -> Callable[..., Any]:
    """``small_trainer_config(data_dir, output_dir, steps)``: a copy of humansync-small on ``data_dir``
    with its schedule fitted to ``steps`` (`method_configs.fit_schedule`), the demo's people focus,
    512 rays per batch, CPU, tensorboard, and no evaluation or checkpoint during training."""

    def make(data_dir: Path, output_dir: Path, steps: int) -> Any:
        from humansync_ns.method_configs import PEOPLE_FOCUS, fit_schedule, humansync_small_method, set_dotted

        config = copy.deepcopy(humansync_small_method.config)  # never change the shared preset
        config.output_dir = output_dir
        config.vis = "tensorboard"
        config.machine.device_type = "cpu"
        config.steps_per_eval_batch = config.steps_per_eval_image = config.steps_per_eval_all_images = 10**6
        config.steps_per_save = 10**6
        fit_schedule(config, steps)
        for dotted, value in PEOPLE_FOCUS.items():
            set_dotted(config, dotted, value)
        datamanager = config.pipeline.datamanager
        datamanager.data = datamanager.dataparser.data = data_dir
        datamanager.train_num_rays_per_batch = 512
        return config

    return make
