"""A deterministic stand-in for the network: two people crossing the frame."""

from __future__ import annotations

import numpy as np

from aios_core.inference.results import ImageResult


class CrossingPeople:
    """Person 0 walks left to right, person 1 right to left. Time is the number of frames this
    predictor has seen, so a resumed run must hand it ``frames_seen`` to continue from."""

    def __init__(self, width: int, height: int, frames: int, fail_after_calls: int | None = None):
        self.width, self.height, self.frames = width, height, frames
        self.fail_after_calls = fail_after_calls
        self.calls = 0
        self.frames_seen = 0

    def __call__(self, images) -> list[ImageResult]:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        results = []
        for image in images:
            results.append(self.result_for(self.frames_seen, image.shape[:2]))
            self.frames_seen += 1
        return results

    def result_for(self, frame: int, size_hw: tuple[int, int]) -> ImageResult:
        t = frame / max(self.frames - 1, 1)
        box_w = self.width * 0.2
        centres_x = np.array([0.15 + 0.7 * t, 0.85 - 0.7 * t]) * self.width
        # Rows swap every other frame, so ids cannot simply follow the row order.
        order = [0, 1] if frame % 2 == 0 else [1, 0]
        centres_x = centres_x[order]
        boxes = np.stack(
            [centres_x - box_w / 2, np.full(2, self.height * 0.2),
             centres_x + box_w / 2, np.full(2, self.height * 0.8)], axis=1
        ).astype(np.float32)
        keypoints = np.repeat(((boxes[:, :2] + boxes[:, 2:]) / 2)[:, None], 17, axis=1)
        rng = np.random.default_rng(frame)
        person = np.array(order)

        def per_person(*shape, scale=0.1):
            base = np.stack([np.full(shape, 0.05 * (p + 1)) for p in person])
            return (base + scale * rng.normal(size=(2, *shape)) * 0.1).astype(np.float32)

        transl = np.stack([[(c - self.width / 2) / 500.0, 0.0, 4.0 + p] for c, p in
                           zip(centres_x, person, strict=True)]).astype(np.float32)
        return ImageResult(
            image_size_hw=tuple(size_hw),
            focal_px=np.array([500.0, 500.0], np.float32),
            principal_point_px=np.array([self.width / 2, self.height / 2], np.float32),
            scores=np.array([0.9, 0.8], np.float32),
            query_indices=np.array([0, 1]),
            body_boxes_xyxy_px=boxes,
            lhand_boxes_xyxy_px=boxes,
            rhand_boxes_xyxy_px=boxes,
            face_boxes_xyxy_px=boxes,
            body_keypoints_px=keypoints.astype(np.float32),
            lhand_keypoints_px=keypoints[:, :6].astype(np.float32),
            rhand_keypoints_px=keypoints[:, :6].astype(np.float32),
            face_keypoints_px=keypoints[:, :6].astype(np.float32),
            global_orient=per_person(3),
            body_pose=per_person(21, 3),
            left_hand_pose=per_person(15, 3),
            right_hand_pose=per_person(15, 3),
            jaw_pose=per_person(3),
            betas=per_person(10),
            expression=per_person(10),
            transl_m=transl,
        )
