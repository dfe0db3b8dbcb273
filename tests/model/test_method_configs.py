"""The presets: registration, param groups covered by optimizers, paper defaults, CPU-friendly small."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from humansync_ns import method_configs

from model_testkit import make_model, tiny_config, two_static_one_moving_metadata


def test_paper_defaults():
    config = method_configs.humansync_method.config
    model = config.pipeline.model
    assert config.method_name == "humansync" and config.max_num_iterations == 300_000
    assert (model.pose_start_step, model.time_offset_delay) == (2_000, 18_000)
    assert model.coarse_to_fine_end_step == 100_000 and model.time_resolution is None and model.frames_per_time_cell == 1.0
    assert model.grid_base_resolution[0] * model.multiscale_res[-1] == 384 and len(model.multiscale_res) == 4


@pytest.mark.parametrize("spec_name", ["humansync_method", "humansync_small_method"])
def test_every_param_group_has_an_optimizer_and_small_preset_builds_on_cpu(spec_name):
    config = copy.deepcopy(getattr(method_configs, spec_name).config)
    model_config = config.pipeline.model
    model_config.implementation = "torch"
    if spec_name == "humansync_method":  # keep the test small: only the group structure matters here
        model_config.grid_base_resolution, model_config.time_resolution = (4, 4, 4), 4
        model_config.proposal_net_args_list = [{"num_components": 2, "resolution": (4, 4, 4)}] * 2
    model = make_model(two_static_one_moving_metadata(), model_config)
    groups = model.get_param_groups()
    assert set(groups) == {"proposal_networks", "fields", "camera_opt", "time_offsets"}
    assert set(groups) <= set(config.optimizers)
    # the pose and time-offset learning rates start where the progressive schedule unfreezes them
    for group, start in [("camera_opt", model_config.pose_start_step),
                         ("time_offsets", model_config.pose_start_step + model_config.time_offset_delay)]:
        assert config.optimizers[group]["scheduler"].start_step == start
        assert 0 < config.optimizers[group]["scheduler"].warmup_steps < config.max_num_iterations - start


def test_small_preset_is_cpu_sized():
    config = method_configs.humansync_small_method.config
    model = config.pipeline.model
    assert config.pipeline.datamanager.train_num_rays_per_batch <= 1024 and not config.mixed_precision
    assert model.implementation == "torch" and model.num_proposal_iterations == 1
    assert model.pose_start_step < model.pose_start_step + model.time_offset_delay < config.max_num_iterations
    assert config.vis == "viewer"


@pytest.mark.slow
def test_plugin_loads_through_nerfstudio_registries_in_a_fresh_interpreter():
    # nerfstudio loads humansync-data *while* base_datamanager is half-imported; a module-level
    # datamanager import in method_configs made that a circular ImportError that broke ns-train.
    code = (
        "from nerfstudio.configs.method_configs import all_methods; "
        "from nerfstudio.configs.dataparser_configs import all_dataparsers; "
        "assert 'humansync' in all_methods and 'humansync-small' in all_methods, sorted(all_methods); "
        "assert 'humansync-data' in all_dataparsers; "
        "import sys; assert not any('tinycudann' in m for m in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]


def test_fit_schedule_keeps_every_step_count_at_its_fraction_of_the_run():
    # a demo or benchmark running humansync-small for 1500 steps instead of the preset's 2000
    config = copy.deepcopy(method_configs.humansync_small_method.config)
    preset_model = method_configs.humansync_small_method.config.pipeline.model
    method_configs.fit_schedule(config, 1500)
    model = config.pipeline.model
    assert config.max_num_iterations == 1500
    assert (model.pose_start_step, model.time_offset_delay, model.coarse_to_fine_end_step) == (150, 300, 500)
    assert {group["scheduler"].max_steps for group in config.optimizers.values()} == {1500}
    assert config.optimizers["camera_opt"]["scheduler"].warmup_steps == 150
    assert config.optimizers["time_offsets"]["scheduler"].warmup_steps == 150
    assert preset_model.pose_start_step == 200  # the shared preset is untouched (the copy was fitted)
    with pytest.raises(ValueError, match="positive"):
        method_configs.fit_schedule(config, 0)


@pytest.mark.parametrize("frames_per_cell, expected", [(1.0, 25), (3.0, 9), (100.0, 2)])
def test_time_axis_is_derived_from_the_captures_span_and_frame_rate(frames_per_cell, expected):
    """With time_resolution None, the time axis gets a cell per `frames_per_time_cell` frames of the
    fastest video over the normalised range: here 2 s with a 10 % margin on each side is 2.5 s, at
    10 fps 25 frames (at least 2 cells)."""
    model_config = tiny_config(time_resolution=None, frames_per_time_cell=frames_per_cell)
    model = make_model(two_static_one_moving_metadata(), model_config)
    assert model.time_resolution == expected
    for plane in model.field.temporal_planes():
        assert plane.shape[-2] == expected or plane.shape[-1] == expected, plane.shape
