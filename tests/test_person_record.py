"""The person record is defined once (aios_core.person); every user follows it."""

from __future__ import annotations

import dataclasses

import numpy as np

from aios_core.inference.results import ImageResult, PersonResult
from aios_core.person import PERSON_FIELDS, SMPLX_FIELDS
from aios_core.results.results_file import PER_DETECTION_SHAPES
from tests.fake_predictor import CrossingPeople

# The results file's per-detection keys and shapes (schema 1) as they are on disk.
RESULTS_FILE_V1 = {
    "frame_index": (), "timestamp_s": (), "track_id": (), "score": (),
    "body_box_xyxy_px": (4,), "lhand_box_xyxy_px": (4,), "rhand_box_xyxy_px": (4,),
    "face_box_xyxy_px": (4,), "body_keypoints_px": (17, 2), "lhand_keypoints_px": (6, 2),
    "rhand_keypoints_px": (6, 2), "face_keypoints_px": (6, 2), "global_orient": (3,),
    "body_pose": (21, 3), "left_hand_pose": (15, 3), "right_hand_pose": (15, 3),
    "jaw_pose": (3,), "betas": (10,), "expression": (10,), "transl_m": (3,),
}


def test_the_results_file_keeps_its_keys_order_and_shapes():
    assert list(PER_DETECTION_SHAPES.items()) == list(RESULTS_FILE_V1.items())


def test_the_result_classes_declare_exactly_the_record():
    image_fields = [f.name for f in dataclasses.fields(ImageResult)]
    person_fields = [f.name for f in dataclasses.fields(PersonResult)]
    batched = [f.batched_name for f in PERSON_FIELDS]
    names = [f.name for f in PERSON_FIELDS]
    assert [n for n in image_fields if n in batched] == batched
    assert [n for n in person_fields if n in names] == names
    extras = {"image_size_hw", "focal_px", "principal_point_px", "query_indices",
              "smplx_joints_px", "joints_cam_m", "vertices_cam_m"}
    assert set(image_fields) - set(batched) == extras
    per_person_extras = (extras - {"image_size_hw", "query_indices"}) | {"query_index"}
    assert set(person_fields) - set(names) == per_person_extras


def test_smplx_fields_are_the_body_model_keywords():
    assert SMPLX_FIELDS == ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose",
                            "jaw_pose", "betas", "expression", "transl_m")


def result() -> ImageResult:
    return CrossingPeople(width=64, height=48, frames=3).result_for(1, (48, 64))


def test_one_person_and_a_subset_are_views_of_the_same_rows():
    image = result()
    assert len(image) == 2
    swapped = image.take([1, 0])
    for field in PERSON_FIELDS:
        batched = getattr(image, field.batched_name)
        np.testing.assert_array_equal(getattr(image[1], field.name), batched[1])
        np.testing.assert_array_equal(getattr(swapped, field.batched_name), batched[[1, 0]])
        assert np.shape(getattr(image[0], field.name)) == field.shape
    assert image[0].score == float(image.scores[0]) and isinstance(image[0].score, float)
    assert image[1].query_index == int(image.query_indices[1])
    assert swapped.image_size_hw == image.image_size_hw
    np.testing.assert_array_equal(swapped.query_indices, image.query_indices[[1, 0]])
    assert len(image.take(np.array([False, False]))) == 0
