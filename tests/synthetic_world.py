"""Synthetic truth for the world frame: people walking on a floor, seen by a known camera.

Everything is built by forward kinematics of the synthetic SMPL-X stand-in
(``tests/synthetic_smplx.py``), so the truth is exact:

- ``write_world_smplx`` writes the stand-in with its six foot vertices that SMPL-X copies as
  extra joints (big toe, small toe, heel of each foot) moved onto a flat sole under the ankle
  and foot joints, rigidly skinned to them. In the stand-in those vertex ids otherwise fall in
  unrelated joints' clusters.
- ``walk`` makes one person walk a straight line: hips swing, the swing knee bends, the ankle
  keeps the foot flat, and the translation is chosen so that the stance foot stays exactly where
  it landed (the lower foot is the stance foot; feet swap when the swing foot touches down).
- ``make_world`` puts several walkers on the floor (scene frame: y up, floor y = 0, metres) and
  a camera (static, or panning and tilting about its centre) looking down at them.
- ``observe`` turns the truth into what ``aios run`` would write (``RunResults``): camera-frame
  parameters seen through the network's virtual camera (a wrong, long focal length: depth
  scaled by assumed / true focal, lateral position kept), with per-frame jitter, depth error,
  missed detections; boxes and keypoints are projections through the true camera.
- ``render_frames`` draws textured frames (background moving as the camera rotates, people as
  coloured blobs) for the camera-rotation estimator; ``ObservedPredictor`` replays ``observe``'s
  detections as a network stand-in for ``run_pipeline``.

Camera convention: OpenCV (x right, y down, z forward); ``x_scene = R_cw[k] @ x_cam + p[k]``.
Contact order per person and frame: [left_heel, left_toe, right_heel, right_toe].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.keypoints import SMPLX_JOINT_NAMES
from aios_core.inference.results import ImageResult
from aios_core.person import PERSON_FIELDS
from aios_core.results.results_file import PER_DETECTION_SHAPES, RunResults
from tests.synthetic_smplx import tpose_joints, write_synthetic_smplx

# Extra-joint rows of the body model's 144 joints (55 skeleton + 5 face, then the feet).
LEFT_BIG_TOE, LEFT_SMALL_TOE, LEFT_HEEL = 60, 61, 62
RIGHT_BIG_TOE, RIGHT_SMALL_TOE, RIGHT_HEEL = 63, 64, 65
CONTACT_JOINTS = (LEFT_HEEL, LEFT_BIG_TOE, RIGHT_HEEL, RIGHT_BIG_TOE)
SOLE_DROP_M = 0.02  # sole below the foot joint
_HIP = {"left": SMPLX_JOINT_NAMES.index("left_hip"), "right": SMPLX_JOINT_NAMES.index("right_hip")}
_KNEE = {"left": SMPLX_JOINT_NAMES.index("left_knee"),
         "right": SMPLX_JOINT_NAMES.index("right_knee")}
_ANKLE = {"left": SMPLX_JOINT_NAMES.index("left_ankle"),
          "right": SMPLX_JOINT_NAMES.index("right_ankle")}
_FOOT = {"left": SMPLX_JOINT_NAMES.index("left_foot"),
         "right": SMPLX_JOINT_NAMES.index("right_foot")}
# SMPL-X joints standing in for the 17 COCO keypoints (nose, eyes, ears -> head).
_COCO_FROM_SMPLX = [15, 15, 15, 15, 15, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]


def write_world_smplx(folder: Path, seed: int = 0) -> Path:
    """The stand-in SMPL-X with flat soles at the foot extra-joint vertices; returns ``folder``."""
    folder = write_synthetic_smplx(folder, seed)
    path = folder / "SMPLX_NEUTRAL.npz"
    with np.load(path) as data:
        arrays = {key: data[key].copy() for key in data.files}
    joints = tpose_joints()
    ids = SMPLX_VERTEX_IDS["smplx"]
    for side, prefix in (("left", "L"), ("right", "R")):
        ankle, foot = joints[_ANKLE[side]], joints[_FOOT[side]]
        sole_y = foot[1] - SOLE_DROP_M
        inward = -np.sign(foot[0])  # towards the body's midline
        points = {
            "Heel": (ankle[0], sole_y, ankle[2] - 0.03, _ANKLE[side]),
            "BigToe": (foot[0] + 0.02 * inward, sole_y, foot[2] + 0.06, _FOOT[side]),
            "SmallToe": (foot[0] - 0.03 * inward, sole_y, foot[2] + 0.04, _FOOT[side]),
        }
        for name, (x, y, z, joint) in points.items():
            vertex = int(ids[prefix + name])
            arrays["v_template"][vertex] = (x, y, z)
            arrays["weights"][vertex] = 0.0
            arrays["weights"][vertex, joint] = 1.0
            arrays["posedirs"][vertex] = 0.0
            arrays["shapedirs"][vertex] = 0.0
            arrays["J_regressor"][:, vertex] = 0.0
    regressor = arrays["J_regressor"]
    arrays["J_regressor"] = (regressor / regressor.sum(1, keepdims=True)).astype(np.float32)
    np.savez(path, **arrays)
    return folder


def load_world_body_model(folder: Path) -> EmbeddedSMPLX:
    return EmbeddedSMPLX.from_model_folder(folder).eval()


@torch.inference_mode()
def body_joints(model: EmbeddedSMPLX, params: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 144, 3) joints of the posed body without translation (pelvis at its rest place)."""
    count = len(params["global_orient"])

    def tensor(key: str, width: int) -> torch.Tensor:
        if key not in params:
            return torch.zeros(count, width)
        return torch.as_tensor(np.asarray(params[key], np.float32)).reshape(count, width)

    out = model(
        betas=tensor("betas", 10), global_orient=tensor("global_orient", 3),
        body_pose=tensor("body_pose", 63), left_hand_pose=tensor("left_hand_pose", 45),
        right_hand_pose=tensor("right_hand_pose", 45), jaw_pose=tensor("jaw_pose", 3),
        leye_pose=torch.zeros(count, 3), reye_pose=torch.zeros(count, 3),
        expression=tensor("expression", 10),
    )
    return out.joints.numpy().astype(np.float64)


@dataclass
class WalkerTruth:
    """One person in the scene frame, per frame (F rows)."""

    betas: np.ndarray  # (10,)
    body_pose: np.ndarray  # (F, 21, 3)
    global_orient: np.ndarray  # (F, 3) scene frame
    transl_m: np.ndarray  # (F, 3) scene frame, smplx convention
    joints_m: np.ndarray  # (F, 144, 3) scene frame
    contact: np.ndarray  # (F, 4) bool, CONTACT_JOINTS order
    rest_pelvis_m: np.ndarray  # (3,) the pelvis joint of the unposed body (rotation centre)


def _gait_pose(frames: int, fps: float, period_s: float, phase: float) -> np.ndarray:
    """(F, 21, 3) body pose of a walk cycle; rotations about the body's x axis (negative swings
    a leg forward). Each leg: stance for the first half of its cycle (hip from -A to +A, knee
    straightening from 2A), swing for the second (knee bent more than twice the forward hip
    angle, so the swing foot stays above the stance foot until it lands). The ankle keeps each
    foot parallel to the floor."""
    time_s = np.arange(frames) / fps
    pose = np.zeros((frames, 21, 3))
    amplitude, lift = 0.45, 0.6
    for side, offset in (("left", 0.0), ("right", 0.5)):
        cycle = (time_s / period_s + phase / (2 * np.pi) + offset) % 1.0
        hip = -amplitude * np.cos(2 * np.pi * cycle)
        stance = cycle < 0.5
        progress = np.where(stance, cycle, cycle - 0.5) / 0.5
        knee = np.where(
            stance,
            2 * amplitude * (1 - progress) ** 2,
            2 * amplitude * progress + lift * np.sin(np.pi * progress),
        )
        pose[:, _HIP[side] - 1, 0] = hip
        pose[:, _KNEE[side] - 1, 0] = knee
        pose[:, _ANKLE[side] - 1, 0] = -(hip + knee)  # foot parallel to the floor
    return pose


def walk(
    model: EmbeddedSMPLX, frames: int, fps: float, heading_rad: float, start_xz: tuple,
    betas: np.ndarray, period_s: float = 1.1, phase: float = 0.0,
) -> WalkerTruth:
    """One person walking along ``heading_rad`` (about +y, 0 = +z) with planted stance feet."""
    body_pose = _gait_pose(frames, fps, period_s, phase)
    global_orient = np.tile([0.0, heading_rad, 0.0], (frames, 1))
    params = {"betas": np.tile(betas, (frames, 1)), "global_orient": global_orient,
              "body_pose": body_pose}
    local = body_joints(model, params)  # (F, 144, 3), translation 0
    heels = local[:, [LEFT_HEEL, RIGHT_HEEL]]  # (F, 2, 3)
    sole_height = local[:, [LEFT_HEEL, RIGHT_HEEL], 1]  # feet are flat: heel height = sole
    transl = np.zeros((frames, 3))
    contact = np.zeros((frames, 4), bool)
    stance = int(np.argmin(sole_height[0]))
    anchor = np.array([start_xz[0], 0.0, start_xz[1]])
    for k in range(frames):
        transl[k] = anchor - heels[k, stance]
        contact[k, 2 * stance:2 * stance + 2] = True
        lower = int(np.argmin(sole_height[k]))
        if lower != stance:  # the swing foot touched down: it is planted from now on
            transl[k, 1] = -sole_height[k, lower]  # on the floor; the old foot lifts off
            contact[k] = False
            stance = lower
            contact[k, 2 * stance:2 * stance + 2] = True
            anchor = heels[k, stance] + transl[k]
    rest_pelvis = local[0, 0]
    return WalkerTruth(
        betas=np.asarray(betas, np.float64), body_pose=body_pose, global_orient=global_orient,
        transl_m=transl, joints_m=local + transl[:, None], contact=contact,
        rest_pelvis_m=rest_pelvis,
    )


@dataclass
class CameraTruth:
    camera_to_scene_R: np.ndarray  # (F, 3, 3)
    position_m: np.ndarray  # (F, 3)
    focal_px: float
    image_size_wh: tuple[int, int]

    @property
    def principal_point_px(self) -> np.ndarray:
        return np.asarray(self.image_size_wh, np.float64) / 2

    def to_camera(self, points_scene: np.ndarray, frame: int) -> np.ndarray:
        """(..., 3) scene points -> camera frame of ``frame``."""
        return (points_scene - self.position_m[frame]) @ self.camera_to_scene_R[frame]

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        return points_cam[..., :2] / points_cam[..., 2:3] * self.focal_px + self.principal_point_px


def _look_rotation(yaw_rad: float, pitch_down_rad: float, roll_rad: float = 0.0) -> np.ndarray:
    """Camera-to-scene rotation of a camera looking along yaw (0 = +z), tilted down by pitch."""
    level = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])  # x_c=-x, y_c=-y
    turn = Rotation.from_euler("y", yaw_rad).as_matrix()
    # About the camera's x axis; a positive angle would tilt the view up (y is down).
    tilt = Rotation.from_euler("x", -pitch_down_rad).as_matrix()
    spin = Rotation.from_euler("z", roll_rad).as_matrix()
    return turn @ level @ tilt @ spin


def make_camera(
    frames: int, rotating: bool, image_size_wh=(640, 360), fov_deg: float = 60.0,
    height_m: float = 1.6, pitch_down_deg: float = 12.0, pan_deg: float = 14.0,
) -> CameraTruth:
    """A camera at ``height_m`` behind the scene origin; rotating: pans and tilts about itself."""
    width, _ = image_size_wh
    focal = width / 2 / np.tan(np.radians(fov_deg) / 2)
    t = np.linspace(0.0, 1.0, frames)
    yaw = np.radians(pan_deg) * np.sin(np.pi * t) if rotating else np.zeros(frames)
    pitch = np.radians(pitch_down_deg) + (np.radians(3.0) * np.sin(2 * np.pi * t) if rotating
                                          else 0.0)
    roll = np.radians(1.5) * t if rotating else np.zeros(frames)
    rotations = np.stack([_look_rotation(y, p, r) for y, p, r in
                          zip(yaw, np.broadcast_to(pitch, frames), roll, strict=True)])
    position = np.tile([0.0, height_m, 0.0], (frames, 1))
    return CameraTruth(rotations, position, float(focal), tuple(image_size_wh))


@dataclass
class SyntheticWorld:
    people: list[WalkerTruth]
    camera: CameraTruth
    fps: float
    num_frames: int


def make_world(
    model: EmbeddedSMPLX, frames: int = 60, fps: float = 30.0, num_people: int = 3,
    rotating: bool = False, seed: int = 0, image_size_wh=(640, 360), fov_deg: float = 60.0,
) -> SyntheticWorld:
    """Several people walking across the floor 4-8 m in front of the camera."""
    rng = np.random.default_rng(seed)
    people = walkers(model, rng, frames, fps, num_people, side_m=1.5, depth_m=(4.5, 7.0))
    camera = make_camera(frames, rotating, image_size_wh, fov_deg)
    return SyntheticWorld(people, camera, fps, frames)


def walkers(model: EmbeddedSMPLX, rng: np.random.Generator, frames: int, fps: float,
            num_people: int, side_m: float, depth_m: tuple[float, float]) -> list:
    """People walking in random directions from starts spread side by side (+-side_m each) at
    depths in depth_m, each with its own shape, pace and phase."""
    people = []
    for person in range(num_people):
        heading = rng.uniform(-np.pi, np.pi)
        start = (rng.uniform(-side_m, side_m) + 1.2 * (person - (num_people - 1) / 2),
                 rng.uniform(*depth_m))
        betas = rng.normal(0.0, 0.5, 10)
        people.append(walk(model, frames, fps, heading, start, betas,
                           period_s=rng.uniform(1.0, 1.3), phase=rng.uniform(0, 2 * np.pi)))
    return people


@dataclass
class ObservationNoise:
    """What goes wrong between the truth and the network's output."""

    assumed_focal_px: float | None = None  # None: 5000 px at the network's resized image
    depth_sigma: float = 0.03  # relative, per detection, along the viewing ray
    depth_bias_sigma: float = 0.03  # relative, per person
    pixel_sigma: float = 1.5  # lateral jitter of the root, pixels
    rotation_sigma_deg: float = 1.5  # root orientation jitter
    pose_sigma_rad: float = 0.02  # body pose jitter
    miss_probability: float = 0.1  # a detection that is dropped
    seed: int = 0


def aios_assumed_focal_px(image_size_wh) -> float:
    """The focal length the network assumes, in original pixels: 5000 at the resized image."""
    width, height = image_size_wh
    scale = min(800 / min(width, height), 1333 / max(width, height))
    return 5000.0 / scale


@dataclass
class Observation:
    results: RunResults
    person_of_detection: np.ndarray  # (D,) index into world.people
    assumed_focal_px: float
    per_frame: list[ImageResult] = field(default_factory=list)


def _axis_angle_noise(rng, count: int, sigma_rad: float) -> np.ndarray:
    return Rotation.from_rotvec(rng.normal(0.0, sigma_rad, (count, 3)))


def observe(world: SyntheticWorld, noise: ObservationNoise | None = None) -> Observation:
    """What `aios run` would write for ``world`` (results tracked: track id = person)."""
    noise = noise or ObservationNoise()
    rng = np.random.default_rng(noise.seed)
    camera = world.camera
    assumed = noise.assumed_focal_px or aios_assumed_focal_px(camera.image_size_wh)
    principal = camera.principal_point_px
    rows: dict[str, list] = {key: [] for key in PER_DETECTION_SHAPES}
    person_of = []
    biases = rng.normal(0.0, noise.depth_bias_sigma, len(world.people))
    per_frame_rows: list[list[dict]] = [[] for _ in range(world.num_frames)]
    for k in range(world.num_frames):
        to_cam = camera.camera_to_scene_R[k].T
        for index, person in enumerate(world.people):
            if k > 0 and rng.random() < noise.miss_probability:
                continue
            joints_cam = camera.to_camera(person.joints_m[k], k)
            pixels = camera.project(joints_cam)
            if joints_cam[0, 2] < 0.5 or not _inside(pixels[0], camera.image_size_wh):
                continue
            pelvis = joints_cam[0]
            # The network's virtual camera: same image position, depth scaled by its focal.
            depth_error = (1.0 + biases[index]) * (1.0 + rng.normal(0.0, noise.depth_sigma))
            jitter = rng.normal(0.0, noise.pixel_sigma, 2) * pelvis[2] / camera.focal_px
            pelvis_virtual = np.array([pelvis[0] + jitter[0], pelvis[1] + jitter[1],
                                       pelvis[2] * assumed / camera.focal_px]) * depth_error
            orient = Rotation.from_matrix(to_cam) * Rotation.from_rotvec(person.global_orient[k])
            orient = _axis_angle_noise(rng, 1, np.radians(noise.rotation_sigma_deg))[0] * orient
            box = np.concatenate([pixels[:66].min(0) - 5, pixels[:66].max(0) + 5])
            row = {
                "frame_index": k, "timestamp_s": k / world.fps, "track_id": index,
                "score": 0.9 - 0.1 * index,
                "body_box_xyxy_px": box, "lhand_box_xyxy_px": box, "rhand_box_xyxy_px": box,
                "face_box_xyxy_px": box,
                "body_keypoints_px": pixels[_COCO_FROM_SMPLX],
                "lhand_keypoints_px": pixels[[20] * 6], "rhand_keypoints_px": pixels[[21] * 6],
                "face_keypoints_px": pixels[[15] * 6],
                "global_orient": orient.as_rotvec(),
                "body_pose": person.body_pose[k] + rng.normal(0, noise.pose_sigma_rad, (21, 3)),
                "left_hand_pose": np.zeros((15, 3)), "right_hand_pose": np.zeros((15, 3)),
                "jaw_pose": np.zeros(3), "betas": person.betas, "expression": np.zeros(10),
                "transl_m": pelvis_virtual - person.rest_pelvis_m,
            }
            for key in PER_DETECTION_SHAPES:
                rows[key].append(np.asarray(row[key]))
            person_of.append(index)
            per_frame_rows[k].append(row)
    detections = {key: np.stack(values) for key, values in rows.items()}
    frames = world.num_frames
    results = RunResults(
        source="synthetic_world.mp4", fps=world.fps, num_frames=frames,
        image_size_wh=tuple(camera.image_size_wh),
        focal_px=np.array([assumed, assumed], np.float32),
        principal_point_px=principal.astype(np.float32), detections=detections,
    )
    per_frame = [_image_result(frame_rows, camera, assumed) for frame_rows in per_frame_rows]
    return Observation(results, np.array(person_of), assumed, per_frame)


def tracked_and_smoothed(observation: Observation, strength: float = 0.5) -> Observation:
    """The observation after `aios run`'s tracking and smoothing (rows kept in order)."""
    from aios_core.pipeline.tracking_pass import track_and_smooth
    from aios_core.tracking import TrackerConfig

    smoothed = track_and_smooth(observation.results, 0, TrackerConfig(), strength)
    if smoothed.num_detections != observation.results.num_detections:
        raise AssertionError("the tracker dropped detections of the synthetic world")
    return replace(observation, results=smoothed)


def _inside(pixel: np.ndarray, size_wh) -> bool:
    return bool(0 <= pixel[0] < size_wh[0] and 0 <= pixel[1] < size_wh[1])


def _image_result(rows: list[dict], camera: CameraTruth, assumed: float) -> ImageResult:
    """One frame's detections as the network would return them (untracked, best first)."""
    def stack(key: str) -> np.ndarray:
        if not rows:
            return np.zeros((0, *PER_DETECTION_SHAPES[key]), np.float32)
        return np.stack([np.asarray(r[key], np.float32) for r in rows])

    width, height = camera.image_size_wh
    return ImageResult(
        image_size_hw=(height, width), focal_px=np.array([assumed, assumed], np.float32),
        principal_point_px=camera.principal_point_px.astype(np.float32),
        query_indices=np.arange(len(rows)),
        **{field.batched_name: stack(field.name) for field in PERSON_FIELDS},
    )


class ObservedPredictor:
    """Replays an Observation's per-frame detections as the network would (frame by frame)."""

    def __init__(self, observation: Observation):
        self.per_frame = observation.per_frame
        self.frames_seen = 0

    def __call__(self, images) -> list[ImageResult]:
        out = []
        for _ in images:
            out.append(self.per_frame[self.frames_seen])
            self.frames_seen += 1
        return out


def _background_canvas(rng, size_wh: tuple[int, int]) -> np.ndarray:
    """A textured panorama: blocks and discs of random colours (corners for the tracker)."""
    import cv2

    width, height = size_wh
    canvas = (rng.random((height // 8 + 1, width // 8 + 1, 3)) * 120 + 60).astype(np.uint8)
    canvas = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_NEAREST)
    for _ in range(width * height // 900):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            size = int(rng.integers(6, 30))
            cv2.rectangle(canvas, (x, y), (x + size, y + int(rng.integers(6, 30))), colour, -1)
        else:
            cv2.circle(canvas, (x, y), int(rng.integers(3, 14)), colour, -1)
    return cv2.GaussianBlur(canvas, (3, 3), 0)


def render_frames(world: SyntheticWorld, seed: int = 0, margin_px: int = 360) -> np.ndarray:
    """(F, H, W, 3) uint8 frames: the background rotates with the camera (a homography of a
    panorama seen from frame 0's camera), people are moving coloured blobs at their joints."""
    import cv2

    rng = np.random.default_rng(seed)
    camera = world.camera
    width, height = camera.image_size_wh
    canvas = _background_canvas(rng, (width + 2 * margin_px, height + 2 * margin_px))
    intrinsics = np.array([[camera.focal_px, 0, width / 2], [0, camera.focal_px, height / 2],
                           [0, 0, 1]])
    canvas_intrinsics = intrinsics.copy()
    canvas_intrinsics[:2, 2] += margin_px
    frames = np.empty((world.num_frames, height, width, 3), np.uint8)
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in world.people]
    for k in range(world.num_frames):
        # x_k = K R_{k<-0} K_canvas^-1 x_canvas for a camera rotating about its centre.
        relative = camera.camera_to_scene_R[k].T @ camera.camera_to_scene_R[0]
        homography = intrinsics @ relative @ np.linalg.inv(canvas_intrinsics)
        image = cv2.warpPerspective(canvas, homography, (width, height))
        for person, colour in zip(world.people, colours, strict=True):
            pixels = camera.project(camera.to_camera(person.joints_m[k, :22], k))
            for u, v in pixels:
                cv2.circle(image, (int(u), int(v)), max(2, width // 80), colour, -1)
        frames[k] = image
    return frames


def _angle_deg(rotation: np.ndarray) -> np.ndarray:
    """Rotation angle of (..., 3, 3) matrices, degrees."""
    cos = (np.trace(rotation, axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def world_errors(world: SyntheticWorld, observation: Observation, results: RunResults,
                 person_of_detection: np.ndarray | None = None) -> dict[str, float]:
    """The estimated world block of ``results`` against the truth, gauge-free:

    - normal_deg: angle between the estimated and true up, in the first camera's frame;
    - floor_cm: error of the camera's height above the floor;
    - rotation_deg: mean over frames of the error of each frame's rotation from the first;
    - root_cm: mean distance of the world pelvis to the truth after the best turn about the up
      axis and shift along the floor (height is not aligned: floor errors count).
    """
    est, camera = results.world, world.camera
    if person_of_detection is None:
        person_of_detection = observation.person_of_detection
    true_up_cam0 = camera.camera_to_scene_R[0].T @ np.array([0.0, 1.0, 0.0])
    est_up_cam0 = est.camera_to_world_R[0].T @ np.array([0.0, 1.0, 0.0])
    normal = np.degrees(np.arccos(np.clip(true_up_cam0 @ est_up_cam0, -1, 1)))
    floor = abs(est.camera_position_m[0, 1] - camera.position_m[0, 1]) * 100
    frames = results.frame_index_per_frame
    true_rel = np.einsum("ji,fjk->fik", camera.camera_to_scene_R[0],
                         camera.camera_to_scene_R[frames])
    est_rel = np.einsum("ji,fjk->fik", est.camera_to_world_R[0], est.camera_to_world_R)
    rotation = float(_angle_deg(np.einsum("fji,fjk->fik", est_rel, true_rel)).mean())
    truth, estimate = [], []
    for row, person in enumerate(person_of_detection):
        walker = world.people[person]
        frame = int(results.detections["frame_index"][row])
        truth.append(walker.joints_m[frame, 0])
        estimate.append(est.transl_m[row] + walker.rest_pelvis_m)
    truth, estimate = np.array(truth), np.array(estimate)
    # Best turn about y and shift in x-z (2-D Procrustes without scale).
    a, b = estimate[:, [0, 2]], truth[:, [0, 2]]
    a_c, b_c = a - a.mean(0), b - b.mean(0)
    u, _, vt = np.linalg.svd(a_c.T @ b_c)
    turn = u @ np.diag([1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    aligned = a_c @ turn + b.mean(0)
    error = np.sqrt(((aligned - b) ** 2).sum(1) + (estimate[:, 1] - truth[:, 1]) ** 2)
    return {"normal_deg": float(normal), "floor_cm": float(floor), "rotation_deg": rotation,
            "root_cm": float(error.mean() * 100)}
