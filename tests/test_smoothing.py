import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from aios_core.tracking import MultiPersonSmoother, PoseSmoother, SmoothingConfig
from aios_core.tracking.one_euro import OneEuroConfig, OneEuroFilter

FPS = 30.0


def _angle_between(rotvec_a: np.ndarray, rotvec_b: np.ndarray) -> np.ndarray:
    """Geodesic angle (rad) between rotations given as axis-angle (..., 3)."""
    a = Rotation.from_rotvec(np.array(rotvec_a, dtype=np.float64).reshape(-1, 3))
    b = Rotation.from_rotvec(np.array(rotvec_b, dtype=np.float64).reshape(-1, 3))
    return (a.inv() * b).magnitude()


def _equivalent_long_way(rotvec: np.ndarray) -> np.ndarray:
    """The same rotation written with angle 2*pi - theta about the opposite axis."""
    theta = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    return rotvec - 2 * np.pi * rotvec / theta


def _smooth_rotations(seq: np.ndarray, strength: float = 0.6) -> np.ndarray:
    smoother = PoseSmoother(SmoothingConfig(strength=strength))
    return np.stack([smoother({"body_pose": r}, i / FPS)["body_pose"] for i, r in enumerate(seq)])


def test_quaternion_sign_flips_in_the_input_do_not_reach_the_output():
    t = np.arange(40) / FPS
    axes = np.stack([np.cos(t), np.sin(t), 0.5 + 0 * t], axis=-1)
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    angles = 0.5 + 1.5 * t  # 0.5 .. 2.45 rad
    clean = np.stack([angles[:, None] * axes, 0.8 * angles[:, None] * axes[:, ::-1]], axis=1)
    flipped = clean.copy()
    flipped[1::2] = _equivalent_long_way(clean[1::2])
    # The input really alternates quaternion hemispheres...
    q_clean = Rotation.from_rotvec(clean[1, 0]).as_quat()
    q_flip = Rotation.from_rotvec(flipped[1, 0]).as_quat()
    np.testing.assert_allclose(q_flip, -q_clean, atol=1e-12)
    # ...yet the smoothed rotations are those of the clean input.
    out_clean, out_flipped = _smooth_rotations(clean), _smooth_rotations(flipped)
    assert _angle_between(out_clean, out_flipped).max() < 1e-9
    # Averaging raw axis-angle instead would be fooled by the flips.
    naive = OneEuroFilter(SmoothingConfig(strength=0.6).one_euro(1.0))
    out_naive = np.stack([naive(r, i / FPS) for i, r in enumerate(flipped)])
    assert _angle_between(out_naive, out_clean).max() > 1.0


def test_rotations_near_pi_stay_near_pi():
    rng = np.random.default_rng(0)
    n = 60
    # Rotations of about pi about a slightly wobbling z axis; scipy/axis-angle writes them
    # with either sign of the axis, i.e. the input jumps between +pi*z and -pi*z.
    axes = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.02, (n, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    signs = np.where(np.arange(n) % 2, -1.0, 1.0)[:, None]
    seq = (signs * (np.pi - 0.01) * axes)[:, None, :]  # (n, 1, 3)
    target = np.array([0.0, 0.0, np.pi])
    targets = np.tile(target, (n, 1))
    error_in = _angle_between(seq[:, 0], targets)
    assert error_in.max() < 0.15
    out = _smooth_rotations(seq)
    error_out = _angle_between(out[:, 0], targets)
    assert error_out.max() < 0.08 and error_out[20:].mean() < 0.5 * error_in[20:].mean()
    assert np.all(np.linalg.norm(out, axis=-1) <= np.pi + 1e-9)
    # Filtering the axis-angle vectors themselves averages +pi*z and -pi*z into ~identity.
    naive = OneEuroFilter(SmoothingConfig(strength=0.6).one_euro(1.0))
    out_naive = np.stack([naive(r[0], i / FPS) for i, r in enumerate(seq)])
    assert _angle_between(out_naive[20:], targets[20:]).min() > 2.0


def test_rotation_jitter_is_reduced_and_strength_orders_it():
    rng = np.random.default_rng(1)
    mean = np.array([0.3, -0.4, 1.1])
    noisy = Rotation.from_rotvec(rng.normal(0, 0.05, (150, 3))) * Rotation.from_rotvec(mean)
    seq = noisy.as_rotvec()[:, None, :]
    err_in = _angle_between(seq[50:, 0], np.broadcast_to(mean, (100, 3))).mean()
    errors = [
        _angle_between(_smooth_rotations(seq, s)[50:, 0], np.broadcast_to(mean, (100, 3))).mean()
        for s in (0.2, 0.5, 0.9)
    ]
    assert errors[0] < 0.8 * err_in
    assert errors[0] > errors[1] > errors[2]


def test_groups_shapes_dtypes_and_passthrough():
    rng = np.random.default_rng(2)
    smoother = PoseSmoother(SmoothingConfig(strength=0.7))
    steady_transl = np.array([0.1, -0.2, 3.0], np.float32)
    inputs, outputs = [], []
    for i in range(60):
        params = {
            "global_orient": rng.normal(0, 0.3, 3).astype(np.float32),
            "body_pose": rng.normal(0, 0.3, (21, 3)).astype(np.float32),
            "transl": steady_transl + rng.normal(0, 0.05, 3).astype(np.float32),
            "keypoints_2d": rng.normal(100, 3, (137, 2)).astype(np.float32),
            "betas": np.ones(10, np.float32),
            "score": np.float32(0.9 + 0.001 * i),
        }
        out = smoother(params, i / FPS)
        inputs.append(params)
        outputs.append(out)
    assert set(out) == set(params)
    for key, value in params.items():
        assert np.shape(out[key]) == np.shape(value) and out[key].dtype == value.dtype
    assert out["score"] is params["score"]  # not in any group: untouched
    np.testing.assert_allclose(out["betas"], 1.0, atol=1e-6)
    # Translation and keypoints are smoothed too: their frame-to-frame spread shrinks.
    for key in ("transl", "keypoints_2d"):
        spread_in = np.std([p[key] for p in inputs[20:]], axis=0).mean()
        spread_out = np.std([o[key] for o in outputs[20:]], axis=0).mean()
        assert spread_out < 0.6 * spread_in, key


def test_strength_zero_is_identity_and_long_gaps_restart():
    params = {"body_pose": np.full((21, 3), 0.2), "transl": np.zeros(3)}
    off = PoseSmoother(SmoothingConfig(strength=0.0))
    assert off(params, 0.0)["body_pose"] is params["body_pose"]

    smoother = PoseSmoother(SmoothingConfig(strength=0.9, max_gap_s=0.5))
    for i in range(10):
        smoother(params, i / FPS)
    moved = {"body_pose": np.full((21, 3), -0.4), "transl": np.ones(3)}
    soon = smoother(moved, 10 / FPS)
    assert np.abs(soon["transl"] - 1).max() > 0.3  # still filtering: lags behind the jump
    after_gap = smoother(moved, 10 / FPS + 0.6)
    np.testing.assert_allclose(after_gap["transl"], 1.0)
    np.testing.assert_allclose(after_gap["body_pose"], -0.4, atol=1e-9)


def test_multi_person_smoother_keeps_tracks_apart_and_prunes():
    smoother = MultiPersonSmoother(SmoothingConfig(strength=0.8, max_gap_s=1.0))
    for i in range(20):
        a = smoother(1, {"transl": np.zeros(3)}, i / FPS)
        b = smoother(7, {"transl": np.full(3, 5.0)}, i / FPS)
    np.testing.assert_allclose(a["transl"], 0.0)
    np.testing.assert_allclose(b["transl"], 5.0)
    smoother(7, {"transl": np.full(3, 5.0)}, 2.0)
    smoother.prune(2.0)
    assert smoother.track_ids == [7]


def test_strength_maps_monotonically_to_filter_settings():
    configs = [SmoothingConfig(strength=s).one_euro(1.0) for s in (0.1, 0.5, 1.0)]
    assert all(isinstance(c, OneEuroConfig) for c in configs)
    cutoffs = [c.min_cutoff_hz for c in configs]
    betas = [c.beta for c in configs]
    assert cutoffs == sorted(cutoffs, reverse=True) and betas == sorted(betas, reverse=True)
    with pytest.raises(ValueError):
        SmoothingConfig(strength=1.5)
