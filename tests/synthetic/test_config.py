import dataclasses

import pytest

from humansync_ns.synthetic.config import SynthConfig, SynthConfigError


@pytest.mark.parametrize(
    "changes, field_name",
    [
        ({"num_people": 4}, "num_people"),
        ({"num_people": 0}, "num_people"),
        ({"duration_s": 2.0, "start_spread_s": 2.0}, "start_spread_s"),
        ({"width": 161}, "width"),
        ({"horizontal_fov_deg": (80.0, 60.0)}, "horizontal_fov_deg"),
        ({"outlier_rate": 1.5}, "outlier_rate"),
        ({"pose_noise_sigma": -0.1}, "pose_noise_sigma"),
        ({"fps": 0.0}, "fps"),
    ],
)
def test_impossible_settings_name_the_field(changes, field_name):
    with pytest.raises(SynthConfigError, match=f"SynthConfig.{field_name}"):
        SynthConfig(**changes)


def test_noise_free_turns_off_every_error_and_nothing_else():
    config = SynthConfig(seed=5, num_people=2, gamma_range=(0.4, 2.0), image_noise_sigma=0.02)
    clean = config.noise_free()
    for name in ("rotation_jitter_deg", "pose_noise_sigma", "depth_error", "outlier_rate", "betas_noise", "image_noise_sigma"):
        assert getattr(clean, name) == 0.0, name
    assert clean.gamma_range == (1.0, 1.0)
    noise_fields = {"rotation_jitter_deg", "pose_noise_sigma", "depth_error", "outlier_rate", "betas_noise", "image_noise_sigma", "gamma_range"}
    for f in dataclasses.fields(SynthConfig):
        if f.name not in noise_fields:
            assert getattr(clean, f.name) == getattr(config, f.name), f.name


def test_defaults_model_a_realistic_estimator():
    config = SynthConfig()
    assert (config.num_cameras, config.fps, config.width, config.height) == (8, 30.0, 160, 120)
    assert config.rotation_jitter_deg > 0 and config.depth_error == 0.05 and config.outlier_rate > 0
    assert config.overlap_s > 0.5 * config.duration_s


def test_dict_round_trip_and_unknown_keys():
    config = SynthConfig(seed=9, mixed_fps=True, gamma_range=(0.5, 1.5))
    assert SynthConfig.from_dict(config.to_dict()) == config
    with pytest.raises(SynthConfigError, match="capture.json.*bogus"):
        SynthConfig.from_dict({**config.to_dict(), "bogus": 1}, source="capture.json")


def test_mixed_fps_assigns_the_secondary_rate_to_odd_videos():
    config = SynthConfig(mixed_fps=True, fps=30.0, secondary_fps=24.0)
    assert [config.video_fps(i) for i in range(4)] == [30.0, 24.0, 30.0, 24.0]
    assert SynthConfig().video_fps(1) == 30.0
