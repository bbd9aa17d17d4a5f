import numpy as np
import pytest
import trimesh

from aios_core.rendering.overlay import MeshOverlayRenderer, track_colour

W, H = 96, 64
FOCAL = np.array([80.0, 80.0])
CENTRE = np.array([W / 2, H / 2])


def box(centre_m, size_m=0.5):
    mesh = trimesh.creation.box(extents=[size_m] * 3)
    return np.asarray(mesh.vertices) + np.asarray(centre_m), np.asarray(mesh.faces)


@pytest.fixture
def renderer():
    # One GL context at a time: pyrender's EGL contexts do not survive a sibling's deletion.
    with MeshOverlayRenderer(alpha=1.0) as r:
        yield r


def frame(value=40):
    return np.full((H, W, 3), value, dtype=np.uint8)


def test_nearer_person_is_in_front(renderer):
    near, faces = box([0.0, 0.0, 3.0])
    far, _ = box([0.1, 0.0, 6.0], size_m=1.5)
    ids = np.array([7, 2])
    both = renderer.render(frame(), np.stack([far, near]), faces, ids, FOCAL, CENTRE)
    near_alone = renderer.render(frame(), near[None], faces, ids[1:], FOCAL, CENTRE)
    far_alone = renderer.render(frame(), far[None], faces, ids[:1], FOCAL, CENTRE)
    centre = (H // 2, W // 2)  # both boxes cover it
    assert not np.array_equal(near_alone[centre], far_alone[centre])
    np.testing.assert_array_equal(both[centre], near_alone[centre])
    # Order of the people in the input does not matter, only depth does.
    swapped = renderer.render(frame(), np.stack([near, far]), faces, ids[::-1], FOCAL, CENTRE)
    np.testing.assert_array_equal(swapped[centre], near_alone[centre])


def test_mesh_lands_where_the_pinhole_model_projects_it(renderer):
    centre_m = np.array([0.4, -0.2, 4.0])
    vertices, faces = box(centre_m, size_m=0.4)
    image = renderer.render(frame(0), vertices[None], faces, np.array([0]), FOCAL, CENTRE)
    covered = np.argwhere(image.sum(-1) > 0)
    centroid_rc = covered.mean(axis=0)
    expected_xy = FOCAL * centre_m[:2] / centre_m[2] + CENTRE
    # Pixel (row, col) centres sit at +0.5 of the continuous coordinates.
    np.testing.assert_allclose(centroid_rc[::-1] + 0.5, expected_xy, atol=1.0)


def test_no_people_leaves_the_frame_unchanged(renderer):
    original = frame(123)
    _, faces = box([0, 0, 3])
    out = renderer.render(original, np.zeros((0, 8, 3)), faces, np.array([], int), FOCAL, CENTRE)
    np.testing.assert_array_equal(out, original)


def test_alpha_zero_keeps_frame_and_alpha_one_replaces_covered_pixels():
    vertices, faces = box([0.0, 0.0, 3.0])
    original = frame(40)
    with MeshOverlayRenderer(alpha=0.0) as clear:
        np.testing.assert_array_equal(
            clear.render(original, vertices[None], faces, np.array([1]), FOCAL, CENTRE), original
        )
    with MeshOverlayRenderer(alpha=1.0) as solid:
        out = solid.render(original, vertices[None], faces, np.array([1]), FOCAL, CENTRE)
    assert not np.array_equal(out[H // 2, W // 2], original[H // 2, W // 2])
    np.testing.assert_array_equal(out[0, 0], original[0, 0])  # uncovered corner untouched


def test_side_view_doubles_the_width_and_shows_the_person():
    vertices, faces = box([0.0, 0.0, 3.0])
    with MeshOverlayRenderer(side_view=True) as r:
        out = r.render(frame(), vertices[None], faces, np.array([3]), FOCAL, CENTRE)
    assert out.shape == (H, 2 * W, 3)
    side = out[:, W:]
    assert (np.abs(side.astype(int) - 245).sum(-1) > 30).any()


def test_track_colours_are_stable_and_distinct():
    np.testing.assert_array_equal(track_colour(5), track_colour(5))
    colours = np.stack([track_colour(i) for i in range(8)])
    distances = np.linalg.norm(colours[:, None] - colours[None], axis=-1)
    assert distances[~np.eye(8, dtype=bool)].min() > 0.05


def test_bad_vertex_shape_is_reported(renderer):
    _, faces = box([0, 0, 3])
    with pytest.raises(ValueError, match="track ids"):
        renderer.render(frame(), np.zeros((2, 8, 3)), faces, np.array([1]), FOCAL, CENTRE)
