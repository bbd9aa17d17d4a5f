"""The synthetic world truth itself: planted feet, a walking body, a consistent observation."""

import numpy as np
import pytest

from tests.synthetic_world import (
    CONTACT_JOINTS,
    ObservationNoise,
    load_world_body_model,
    make_world,
    observe,
)


@pytest.fixture(scope="module")
def world(world_smplx_dir):
    model = load_world_body_model(world_smplx_dir)
    return make_world(model, frames=40, num_people=2, rotating=True)


def test_stance_feet_are_planted_on_the_floor_and_people_advance(world):
    for person in world.people:
        contacts = person.joints_m[:, CONTACT_JOINTS]  # (F, 4, 3)
        assert contacts[..., 1].min() > -1e-6  # nothing below the floor
        for point in range(4):
            planted = np.flatnonzero(person.contact[:, point])
            assert len(planted) > 5
            assert np.abs(contacts[planted, point, 1]).max() < 1e-5  # on the floor
            runs = np.split(planted, np.flatnonzero(np.diff(planted) > 1) + 1)
            for run in runs:
                np.testing.assert_allclose(contacts[run, point] - contacts[run[0], point], 0.0,
                                           atol=1e-5)  # fixed while planted
        pelvis = person.joints_m[:, 0]
        assert np.linalg.norm(pelvis[-1, [0, 2]] - pelvis[0, [0, 2]]) > 0.5  # it walks


def test_observation_keeps_image_positions_and_scales_depth_by_the_assumed_focal(world):
    noise = ObservationNoise(depth_sigma=0, depth_bias_sigma=0, pixel_sigma=0,
                             rotation_sigma_deg=0, pose_sigma_rad=0, miss_probability=0)
    observation = observe(world, noise)
    results, camera = observation.results, world.camera
    ratio = observation.assumed_focal_px / camera.focal_px
    for row in range(0, results.num_detections, 7):
        frame = int(results.detections["frame_index"][row])
        person = world.people[observation.person_of_detection[row]]
        truth = camera.to_camera(person.joints_m[frame, 0], frame)
        seen = results.detections["transl_m"][row] + person.rest_pelvis_m
        np.testing.assert_allclose(seen, truth * [1, 1, ratio], rtol=1e-5, atol=1e-5)
