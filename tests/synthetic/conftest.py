"""Small seeded captures shared by the synthetic-generator tests (built once per session)."""

import numpy as np
import pytest

from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig

SMALL = dict(num_cameras=4, duration_s=3.0, start_spread_s=0.8, length_jitter_s=0.3)


@pytest.fixture(scope="session")
def small_config() -> SynthConfig:
    """Default estimator noise, four cameras, three seconds."""
    return SynthConfig(seed=3, **SMALL)


@pytest.fixture(scope="session")
def small_capture(small_config):
    return simulate_capture(small_config)


@pytest.fixture(scope="session")
def clean_capture(small_config):
    return simulate_capture(small_config.noise_free())


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 3) OpenCV camera points → (..., 2) continuous pixel coordinates."""
    return (points_cam[..., :2] / points_cam[..., 2:3]) * np.diag(K)[:2] + K[:2, 2]
