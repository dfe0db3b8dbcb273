import numpy as np

from humansync_ns.synthetic.smooth_noise import smooth_signal


def test_unit_variance_and_closed_form_integral():
    signal = smooth_signal(np.random.default_rng(0), 3, 1.0, 5.0)
    times = np.linspace(0.0, 2000.0, 200_001)
    values = signal(times)
    np.testing.assert_allclose(values.std(axis=0), 1.0, atol=0.08)
    # d/dt of the integral is the signal (central differences).
    t = np.linspace(3.0, 20.0, 50)
    h = 1e-4
    derivative = (signal.integral(t + h) - signal.integral(t - h)) / (2 * h)
    np.testing.assert_allclose(derivative, signal(t), atol=1e-6)
    np.testing.assert_allclose(signal.integral(np.zeros(1)), 0.0, atol=1e-12)


def test_never_repeats():
    """No time shift in 0.5..30 s maps a 5 s stretch of the signal onto itself."""
    signal = smooth_signal(np.random.default_rng(1), 1, 1.0, 6.0)
    times = np.arange(0.0, 5.0, 0.01)
    base = signal(times)[:, 0]
    lags = np.arange(0.5, 30.0, 0.01)
    rms = [np.sqrt(np.mean((signal(times + lag)[:, 0] - base) ** 2)) for lag in lags]
    assert min(rms) > 0.15, f"closest repeat has rms difference {min(rms):.3f} at lag {lags[int(np.argmin(rms))]:.2f} s"
