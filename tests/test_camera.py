"""Pinhole projection and AiOS' (s, tx, ty) camera, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.body.camera import (
    AIOS_FOCAL_LENGTH_PX,
    PinholeCamera,
    aios_cam_to_translation,
    aios_principal_point,
    aios_project_points,
    project_points,
)


def test_project_points_hand_computed():
    points = torch.tensor([[0.2, -0.1, 2.0], [0.0, 0.0, 5.0]])
    focal = torch.tensor([1000.0, 1200.0])
    principal = torch.tensor([320.0, 240.0])
    # u = 1000 * 0.2 / 2 + 320 = 420 ; v = 1200 * -0.1 / 2 + 240 = 180 ; axis -> centre.
    expected = torch.tensor([[420.0, 180.0], [320.0, 240.0]])
    torch.testing.assert_close(project_points(points, focal, principal), expected)


def test_project_points_broadcasts_per_image_intrinsics():
    points = torch.tensor([[[1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]]])  # (2 images, 1 point, 3)
    focal = torch.tensor([[10.0, 10.0], [20.0, 30.0]])[:, None]  # (2, 1, 2)
    principal = torch.tensor([[0.0, 0.0], [1.0, 2.0]])[:, None]
    projected = project_points(points, focal, principal)
    torch.testing.assert_close(projected, torch.tensor([[[10.0, 10.0]], [[21.0, 32.0]]]))


def test_cam_to_translation_hand_computed():
    cam = torch.tensor([[0.5, 0.1, -0.2], [2.0, 0.0, 1.0]])
    expected = torch.tensor([[0.2, -0.4, 2.0], [0.0, 0.5, 0.5]])
    torch.testing.assert_close(aios_cam_to_translation(cam), expected)


def test_cam_to_translation_zero_scale_uses_the_official_epsilon():
    translation = aios_cam_to_translation(torch.tensor([0.0, 1e-9, 0.0], dtype=torch.float64))
    assert translation[2].item() == pytest.approx(1e9)
    assert translation[0].item() == pytest.approx(1.0)


def test_aios_projection_hand_computed():
    # A joint at (0.1, -0.2, 0.3) in body coordinates, camera (s, tx, ty) = (0.25, 0.2, 0.4):
    # translation (0.8, 1.6, 4.0) -> camera point (0.9, 1.4, 4.3); image 640 x 480.
    joints = torch.tensor([[[0.1, -0.2, 0.3]]], dtype=torch.float64)
    cam = torch.tensor([[0.25, 0.2, 0.4]], dtype=torch.float64)
    image_wh = torch.tensor([[640, 480]])
    u = 5000.0 * 0.9 / 4.3 + 320.0
    v = 5000.0 * 1.4 / 4.3 + 240.0
    projected = aios_project_points(joints, cam, image_wh)
    assert projected.shape == (1, 1, 2)
    torch.testing.assert_close(projected[0, 0], torch.tensor([u, v], dtype=torch.float64))


def test_aios_projection_of_the_body_origin_is_the_weak_perspective_offset():
    # The body origin projects at centre + f * (tx, ty): tx, ty are the offset in units of
    # the focal length, independent of the scale s.
    cam = torch.tensor([[0.3, 0.01, -0.02], [0.9, 0.01, -0.02]])
    origin = torch.zeros(2, 1, 3)
    projected = aios_project_points(origin, cam, torch.tensor([[200, 100], [200, 100]]))
    expected = torch.tensor([100.0, 50.0]) + AIOS_FOCAL_LENGTH_PX * torch.tensor([0.01, -0.02])
    torch.testing.assert_close(projected[:, 0], expected.expand(2, 2))


def test_principal_point_is_the_image_centre():
    centre = aios_principal_point(torch.tensor([1280.0, 720.0]))
    torch.testing.assert_close(centre, torch.tensor([640.0, 360.0]))


def test_shape_errors():
    with pytest.raises(ValueError, match="pred_cam"):
        aios_cam_to_translation(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="points_cam"):
        project_points(torch.zeros(2, 2), 1.0, 0.0)


def test_projection_and_translation_take_numpy_arrays_with_the_same_numbers():
    cam = torch.tensor([[0.5, 0.1, -0.2], [2.0, 0.0, 1.0]], dtype=torch.float64)
    assert np.array_equal(aios_cam_to_translation(cam.numpy()),
                          aios_cam_to_translation(cam).numpy())
    points = torch.tensor([[0.2, -0.1, 2.0], [0.3, 0.4, 5.0]], dtype=torch.float64)
    focal, centre = np.array([1000.0, 1200.0]), np.array([320.0, 240.0])
    assert np.array_equal(project_points(points.numpy(), focal, centre),
                          project_points(points, torch.from_numpy(focal),
                                         torch.from_numpy(centre)).numpy())


def test_pinhole_camera_from_fov_projects_the_image_edge_at_half_the_angle():
    camera = PinholeCamera.from_fov(90.0, (640, 480))
    np.testing.assert_allclose(camera.focal_px, [320.0, 320.0])
    np.testing.assert_allclose(camera.principal_point_px, [320.0, 240.0])
    # A point 45 degrees to the right lands on the right edge; the axis on the centre.
    np.testing.assert_allclose(camera.project(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 3.0]])),
                               [[640.0, 240.0], [320.0, 240.0]])
    with pytest.raises(ValueError, match="field of view"):
        PinholeCamera.from_fov(180.0, (640, 480))


def test_pinhole_camera_rays_invert_the_projection_per_frame():
    camera = PinholeCamera(np.array([[500.0, 510.0], [800.0, 800.0]]),
                           np.array([[320.0, 240.0], [300.0, 200.0]]), np.array([[640, 480]] * 2))
    points = np.array([[0.3, -0.2, 2.5], [-1.0, 0.5, 4.0]])  # one point per frame
    rays = camera.rays(camera.project(points))
    np.testing.assert_allclose(rays * points[:, 2:], points)
    tensor_rays = PinholeCamera(*(torch.from_numpy(np.asarray(v, np.float64)) for v in (
        camera.focal_px, camera.principal_point_px, camera.image_size_wh))).rays(
        torch.from_numpy(camera.project(points)))
    np.testing.assert_allclose(tensor_rays.numpy(), rays)


def test_scaled_camera_projects_to_scaled_pixels_and_the_network_camera_is_aios():
    camera = PinholeCamera(np.array([500.0, 500.0]), np.array([320.0, 240.0]), np.array([640, 480]))
    point = np.array([0.3, -0.2, 2.5])
    np.testing.assert_allclose(camera.scaled(0.5).project(point), camera.project(point) * 0.5)
    network = PinholeCamera.aios_network(torch.tensor([[640.0, 480.0]]))
    joints = torch.tensor([[[0.1, -0.2, 0.3]]], dtype=torch.float64)
    cam = torch.tensor([[0.25, 0.2, 0.4]], dtype=torch.float64)
    expected = aios_project_points(joints, cam, torch.tensor([[640, 480]]))
    got = network.project(joints + aios_cam_to_translation(cam)[:, None])
    torch.testing.assert_close(got, expected)
