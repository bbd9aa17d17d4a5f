"""The moving camera's rotation and translation in every frame, and its focal length, from
background feature tracks (structure from motion on keyframes).

1. Keyframes: a new one when the tracks have moved ``KEYFRAME_FLOW_PX`` (tracking pixels)
   since the last, or lost half of it, or ``MAX_KEYFRAME_GAP`` frames have passed.
2. Two-view start (OpenCV ``findEssentialMat`` with MAGSAC++ + ``recoverPose``; plain
   RANSAC gave a 1.7 deg wrong start on exact tracks of a floor-dominated view) between the
   first keyframe and the first later one with enough parallax; its tracks are triangulated.
3. Every other keyframe: its pose from the triangulated points (``solvePnPRansac``), then the
   tracks it shares with earlier keyframes are triangulated.
4. Bundle adjustment over the keyframes (``bundle_adjustment``: Schur-complement
   Levenberg-Marquardt, Huber loss): poses, points and, unless given, the focal length
   (self-calibration; the principal point stays at the image centre). Several starting focal
   lengths are tried and the one that ends with the smallest reprojection error is kept.
5. The frames between keyframes: PnP on the adjusted points (or, without enough of them,
   interpolation between their keyframes).

Units: the reconstruction's scale is arbitrary (the first keyframe pair's baseline is 1); the
world stage makes it metric from the people's planted feet. Frames: ``x_ref = R[k] @ x_cam_k
+ c[k]``, the reference being the first frame's camera (OpenCV axes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from aios_core.body.camera import project_points
from aios_core.world.bundle_adjustment import BundleProblem, adjust
from aios_core.world.feature_tracks import MAX_WIDTH_PX, FeatureTracks

KEYFRAME_FLOW_PX = 20.0
MAX_KEYFRAME_GAP = 10
MIN_POINTS = 30  # fewer shared or triangulated points: the motion is not recoverable
RANSAC_PX = 1.0
INLIER_PX = 2.0
MIN_TRIANGULATION_DEG = 1.0
START_FOVS_DEG = (40.0, 55.0, 75.0)  # BA starts from each when the focal length is free


class TrajectoryFailed(Exception):
    """The camera's motion cannot be recovered from these tracks (the caller falls back)."""


@dataclass
class CameraTrajectory:
    camera_to_ref_R: np.ndarray  # (F, 3, 3)
    camera_centre: np.ndarray  # (F, 3) reference frame, reconstruction units
    focal_px: float  # frame pixels
    focal_sigma: float  # relative one-sigma uncertainty of the focal length (0 when given)
    reprojection_rms_px: float  # keyframe bundle adjustment, tracking pixels
    keyframes: np.ndarray  # (K,) frame indices
    points: np.ndarray  # (P, 3) background points, reference frame, reconstruction units


def _keyframes(tracks: FeatureTracks, scale: float) -> list[int]:
    keys = [0]
    for k in range(1, tracks.num_frames):
        a, b = tracks.common(keys[-1], k)
        flow = np.median(np.linalg.norm(a - b, axis=1)) * scale if len(a) else np.inf
        lost = len(a) < 0.5 * len(tracks.ids[keys[-1]])
        if flow > KEYFRAME_FLOW_PX or lost or k - keys[-1] >= MAX_KEYFRAME_GAP:
            keys.append(k)
    if keys[-1] != tracks.num_frames - 1:
        keys.append(tracks.num_frames - 1)
    return keys


def _intrinsics(focal: float, principal: np.ndarray) -> np.ndarray:
    return np.array([[focal, 0, principal[0]], [0, focal, principal[1]], [0, 0, 1.0]])


def _project(points: np.ndarray, rvec: np.ndarray, tvec: np.ndarray, focal: float,
             principal: np.ndarray) -> np.ndarray:
    """(N, 2) pixels of (N, 3) reference points in cameras (N,) of world-to-camera poses."""
    cam = Rotation.from_rotvec(rvec).apply(points) + tvec
    return project_points(cam, focal, principal)


def _triangulate(pose_a, pose_b, pix_a, pix_b, focal, principal):
    """(N, 3) points and (N,) bool good: in front of both cameras, seen at an angle, on both
    images within INLIER_PX (tracking pixels are the caller's concern: here frame pixels)."""
    import cv2

    k = _intrinsics(focal, principal)
    proj_a, proj_b = k @ pose_a, k @ pose_b
    homogeneous = cv2.triangulatePoints(proj_a, proj_b, pix_a.T.astype(np.float64),
                                        pix_b.T.astype(np.float64))
    points = (homogeneous[:3] / homogeneous[3]).T
    good = np.isfinite(points).all(1)
    centres = []
    for pose, pix in ((pose_a, pix_a), (pose_b, pix_b)):
        cam = points @ pose[:, :3].T + pose[:, 3]
        good &= cam[:, 2] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            reprojected = project_points(cam, focal, principal)
        good &= np.linalg.norm(reprojected - pix, axis=1) < INLIER_PX * 2
        centres.append(-pose[:, :3].T @ pose[:, 3])
    rays_a, rays_b = points - centres[0], points - centres[1]
    cos = (rays_a * rays_b).sum(1) / (np.linalg.norm(rays_a, axis=1)
                                      * np.linalg.norm(rays_b, axis=1) + 1e-12)
    good &= cos < np.cos(np.radians(MIN_TRIANGULATION_DEG))
    return points, good


class _Reconstruction:
    """Keyframe poses (world-to-camera 3x4), points by track id, observations by keyframe."""

    def __init__(self, tracks: FeatureTracks, keys: list[int], focal: float,
                 principal: np.ndarray):
        self.tracks, self.keys, self.focal, self.principal = tracks, keys, focal, principal
        self.focal_sigma = 0.0
        self.poses: dict[int, np.ndarray] = {}  # keyframe position -> (3, 4)
        self.points: dict[int, np.ndarray] = {}  # track id -> (3,)

    def observed(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        frame = self.keys[key]
        return self.tracks.ids[frame], self.tracks.points_px[frame]

    def start(self) -> None:
        import cv2

        k = _intrinsics(self.focal, self.principal)
        for second in range(1, min(len(self.keys), 6)):
            a, b = self.tracks.common(self.keys[0], self.keys[second])
            if len(a) < MIN_POINTS:
                break
            essential, mask = cv2.findEssentialMat(a, b, k, cv2.USAC_MAGSAC, 0.999, RANSAC_PX)
            if essential is None or essential.shape != (3, 3):
                continue
            _, rotation, translation, mask = cv2.recoverPose(essential, a, b, k, mask=mask)
            pose_b = np.hstack([rotation, translation.reshape(3, 1)])
            ids, in_a, _ = np.intersect1d(self.tracks.ids[self.keys[0]],
                                          self.tracks.ids[self.keys[second]],
                                          return_indices=True)
            points, good = _triangulate(np.hstack([np.eye(3), np.zeros((3, 1))]), pose_b, a, b,
                                        self.focal, self.principal)
            good &= mask.reshape(-1) > 0
            if good.sum() >= MIN_POINTS:
                self.poses = {0: np.hstack([np.eye(3), np.zeros((3, 1))]), second: pose_b}
                self.points = {int(i): p for i, p in zip(ids[good], points[good], strict=True)}
                return
        raise TrajectoryFailed("no two frames show enough background parallax to start from")

    def add_keyframe(self, key: int) -> bool:
        import cv2

        ids, pixels = self.observed(key)
        known = np.array([int(i) in self.points for i in ids], bool)
        if known.sum() < MIN_POINTS // 2:
            return False
        object_points = np.stack([self.points[int(i)] for i in ids[known]])
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            object_points, pixels[known], _intrinsics(self.focal, self.principal), None,
            reprojectionError=INLIER_PX * 2, iterationsCount=200, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok or inliers is None or len(inliers) < MIN_POINTS // 2:
            return False
        self.poses[key] = np.hstack([cv2.Rodrigues(rvec)[0], tvec.reshape(3, 1)])
        self._triangulate_new(key)
        return True

    def _triangulate_new(self, key: int) -> None:
        ids, pixels = self.observed(key)
        for other in sorted(self.poses, key=lambda o: -abs(o - key)):  # widest baseline first
            if other == key:
                continue
            common, in_key, in_other = np.intersect1d(ids, self.observed(other)[0],
                                                      return_indices=True)
            fresh = np.array([int(i) not in self.points for i in common], bool)
            if not fresh.any():
                continue
            points, good = _triangulate(self.poses[other], self.poses[key],
                                        self.observed(other)[1][in_other[fresh]],
                                        pixels[in_key[fresh]], self.focal, self.principal)
            for track, point in zip(common[fresh][good], points[good], strict=True):
                self.points[int(track)] = point


def _bundle_adjust(rec: _Reconstruction, refine_focal: bool, scale: float) -> float:
    """Adjust poses, points (and focal) in place; returns the RMS reprojection error (tracking
    pixels). Points that stay off their tracks (things that move) are dropped."""
    keys = sorted(rec.poses)
    track_ids = np.array(sorted(rec.points), np.int64)
    obs_key, obs_point, obs_px = [], [], []
    for slot, key in enumerate(keys):
        ids, pixels = rec.observed(key)
        _, in_points, in_frame = np.intersect1d(track_ids, ids, return_indices=True)
        obs_key.append(np.full(len(in_points), slot))
        obs_point.append(in_points)
        obs_px.append(pixels[in_frame])
    problem = BundleProblem(
        np.stack([rec.poses[k][:, :3] for k in keys]), np.stack([rec.poses[k][:, 3] for k in keys]),
        np.stack([rec.points[int(t)] for t in track_ids]), rec.focal, rec.principal,
        np.concatenate(obs_key), np.concatenate(obs_point), np.concatenate(obs_px))
    result = adjust(problem, refine_focal, scale)
    for slot, key in enumerate(keys):
        rec.poses[key] = np.hstack([problem.rotations[slot], problem.translations[slot, :, None]])
    worst = np.zeros(len(track_ids))
    np.maximum.at(worst, problem.obs_point, result.per_observation_px)
    rec.points = {int(t): p for t, p, bad in zip(track_ids, problem.points,
                                                 worst > 2 * INLIER_PX, strict=True) if not bad}
    rec.focal = problem.focal_px
    if refine_focal:
        rec.focal_sigma = result.focal_sigma
    return result.rms_px


def _frame_poses(rec: _Reconstruction, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera rotations (F, 3, 3) and translations (F, 3): PnP between keyframes."""
    import cv2

    keys = sorted(rec.poses)
    frames = np.array([rec.keys[k] for k in keys])
    rotations = Rotation.from_matrix(np.stack([rec.poses[k][:, :3] for k in keys]))
    centres = np.stack([-rec.poses[k][:, :3].T @ rec.poses[k][:, 3] for k in keys])
    every = np.arange(num_frames)
    slerp = Slerp(frames, rotations)
    rotation_w2c = slerp(np.clip(every, frames[0], frames[-1])).as_matrix()
    centre = np.stack([np.interp(every, frames, centres[:, i]) for i in range(3)], 1)
    translation = -np.einsum("fij,fj->fi", rotation_w2c, centre)
    intrinsics = _intrinsics(rec.focal, rec.principal)
    for frame in range(num_frames):
        if frame in frames:
            continue
        ids, pixels = rec.tracks.ids[frame], rec.tracks.points_px[frame]
        known = np.array([int(i) in rec.points for i in ids], bool)
        if known.sum() < MIN_POINTS // 2:
            continue
        object_points = np.stack([rec.points[int(i)] for i in ids[known]])
        rvec = cv2.Rodrigues(rotation_w2c[frame])[0]
        tvec = translation[frame].reshape(3, 1).copy()
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            object_points, pixels[known], intrinsics, None, rvec=rvec, tvec=tvec,
            useExtrinsicGuess=True, reprojectionError=INLIER_PX * 2, iterationsCount=100,
            flags=cv2.SOLVEPNP_ITERATIVE)
        if ok and inliers is not None and len(inliers) >= MIN_POINTS // 2:
            inliers = inliers.reshape(-1)
            rvec, tvec = cv2.solvePnPRefineLM(object_points[inliers], pixels[known][inliers],
                                              intrinsics, None, rvec, tvec)
            rotation_w2c[frame] = cv2.Rodrigues(rvec)[0]
            translation[frame] = tvec.reshape(3)
    return rotation_w2c, translation


def _reconstruct(tracks: FeatureTracks, keys: list[int], focal: float, principal: np.ndarray,
                 refine_focal: bool, scale: float) -> tuple[_Reconstruction, float]:
    rec = _Reconstruction(tracks, keys, focal, principal)
    rec.start()
    for key in range(1, len(keys)):
        if key not in rec.poses and not rec.add_keyframe(key):
            raise TrajectoryFailed(f"lost the camera at frame {keys[key]}: too few background "
                                   "points seen before")
        if key % 8 == 0:
            _bundle_adjust(rec, refine_focal=False, scale=scale)
    rms = _bundle_adjust(rec, refine_focal, scale)
    if refine_focal:  # again from the refined focal: points dropped at the start come back
        for key in range(1, len(keys)):
            rec._triangulate_new(key)
        rms = _bundle_adjust(rec, refine_focal, scale)
    return rec, rms


def estimate_trajectory(
    tracks: FeatureTracks,
    principal_px: np.ndarray,  # (2,) frame pixels
    focal_px: float | None,  # None: self-calibrate
) -> CameraTrajectory:
    """Every frame's camera pose (up to scale) and the focal length; see the module docstring."""
    if len(set(tracks.image_size_wh)) != 1:
        raise TrajectoryFailed("the frame size changes within the clip")
    if tracks.num_frames < 3:
        raise TrajectoryFailed("fewer than 3 frames")
    width = tracks.image_size_wh[0][0]
    scale = min(1.0, MAX_WIDTH_PX / width)
    keys = _keyframes(tracks, scale)
    starts = ([focal_px] if focal_px is not None else
              [width / 2 / np.tan(np.radians(fov) / 2) for fov in START_FOVS_DEG])
    best, failure = None, None
    for start in starts:
        try:
            rec, rms = _reconstruct(tracks, keys, float(start), np.asarray(principal_px,
                                                                           np.float64),
                                    focal_px is None, scale)
        except TrajectoryFailed as reason:
            failure = reason
            continue
        if best is None or rms < best[1]:
            best = (rec, rms)
    if best is None:
        raise failure
    rec, rms = best
    w2c_rotation, w2c_translation = _frame_poses(rec, tracks.num_frames)
    camera_to_ref = np.transpose(w2c_rotation, (0, 2, 1))
    centre = -np.einsum("fij,fj->fi", camera_to_ref, w2c_translation)
    return CameraTrajectory(camera_to_ref, centre, float(rec.focal), float(rec.focal_sigma), rms,
                            np.array(sorted(rec.keys[k] for k in rec.poses)),
                            np.array(list(rec.points.values())).reshape(-1, 3))
