import math

import numpy as np
import pytest

from aios_core.tracking import OneEuroConfig, OneEuroFilter


def _run(filt: OneEuroFilter, samples, times) -> np.ndarray:
    return np.stack([filt(x, t) for x, t in zip(samples, times, strict=True)])


def test_constant_signal_stays_constant_at_irregular_times():
    times = np.cumsum(np.random.default_rng(0).uniform(0.01, 0.1, 50))
    value = np.array([[1.5, -2.0, 0.0], [3.0, 1e3, -7.25]])
    out = _run(OneEuroFilter(OneEuroConfig(1.0, 0.5)), [value] * 50, times)
    np.testing.assert_allclose(out, np.broadcast_to(value, out.shape), rtol=0, atol=1e-12)


def test_zero_beta_is_the_textbook_exponential_smoother():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(1 / 60, 1 / 15, 200))
    x = rng.normal(size=(200, 4))
    out = _run(OneEuroFilter(OneEuroConfig(min_cutoff_hz=2.0, beta=0.0)), x, times)
    expected = np.empty_like(x)
    expected[0] = x[0]
    for k in range(1, len(x)):
        tau = 1 / (2 * math.pi * 2.0)
        alpha = 1 / (1 + tau / (times[k] - times[k - 1]))
        expected[k] = expected[k - 1] + alpha * (x[k] - expected[k - 1])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_noise_variance_drops_as_theory_predicts():
    rng = np.random.default_rng(2)
    n, fps, cutoff = 6000, 30.0, 1.0
    noise = rng.normal(size=(n, 3))
    out = _run(OneEuroFilter(OneEuroConfig(min_cutoff_hz=cutoff)), noise, np.arange(n) / fps)
    r = 2 * math.pi * cutoff / fps
    alpha = r / (r + 1)
    predicted_ratio = alpha / (2 - alpha)  # variance gain of an EMA on white noise
    ratio = out[100:].var() / noise.var()
    assert ratio < 0.2
    assert abs(ratio - predicted_ratio) < 0.15 * predicted_ratio


def test_ramp_lag_is_independent_of_the_sampling_pattern():
    # A first-order low-pass trails a ramp of slope v by v * tau at steady state, for any
    # sampling, if (and only if) each step uses its real time interval.
    cutoff, slope = 1.5, 2.0
    tau = 1 / (2 * math.pi * cutoff)
    rng = np.random.default_rng(3)
    for times in (np.arange(300) / 30, np.cumsum(rng.uniform(1 / 90, 1 / 10, 300))):
        filt = OneEuroFilter(OneEuroConfig(min_cutoff_hz=cutoff))
        out = _run(filt, slope * times[:, None], times)[:, 0]
        np.testing.assert_allclose(slope * times[-20:] - out[-20:], slope * tau, rtol=1e-3)


def test_step_is_followed_with_bounded_lag_and_no_overshoot():
    fps = 60.0
    times = np.arange(240) / fps
    step = (times >= 1.0).astype(float)[:, None]

    def settle_time(beta: float) -> float:
        out = _run(OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=beta)), step, times)[:, 0]
        assert np.all(np.diff(out) >= -1e-12) and out.max() <= 1.0 + 1e-12
        return times[np.argmax(out >= 0.9)] - 1.0

    fast, slow = settle_time(beta=5.0), settle_time(beta=0.0)
    assert fast < 0.1  # speed-adaptive cutoff: the jump is followed within a few frames
    assert slow > 0.3  # the plain 1 Hz low-pass alone lags much more (tau ln 10 = 0.37 s)
    assert fast < slow


def test_elements_are_filtered_independently():
    rng = np.random.default_rng(4)
    times = np.cumsum(rng.uniform(0.01, 0.05, 40))
    x = rng.normal(size=(40, 2, 3)).cumsum(axis=0)
    cfg = OneEuroConfig(min_cutoff_hz=0.8, beta=0.7)
    joint = _run(OneEuroFilter(cfg), x, times)
    for i in range(2):
        for j in range(3):
            alone = _run(OneEuroFilter(cfg), x[:, i, j], times)
            np.testing.assert_allclose(joint[:, i, j], alone, rtol=1e-12)


def test_repeated_timestamp_and_bad_configs():
    filt = OneEuroFilter(OneEuroConfig(beta=0.3))
    filt(np.array([0.0]), 0.0)
    first = filt(np.array([1.0]), 0.1)
    np.testing.assert_array_equal(filt(np.array([50.0]), 0.1), first)
    with pytest.raises(ValueError):
        filt(np.zeros(2), 0.2)
    with pytest.raises(ValueError):
        OneEuroConfig(min_cutoff_hz=0.0)
    with pytest.raises(ValueError):
        OneEuroConfig(beta=-1.0)
