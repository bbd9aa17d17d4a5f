"""MeshOverlayRenderer on tiny frames and boxes (headless: EGL/OSMesa picked by gl_backend)."""

import numpy as np
import pytest
import trimesh

from aios_core.rendering.overlay import SIDE_VIEW_BACKGROUND, MeshOverlayRenderer, track_colour

W, H = 96, 64
FOCAL = np.array([80.0, 80.0])
CENTRE = np.array([W / 2, H / 2])


def box(centre_m, extents_m=(0.5, 0.5, 0.5)):
    """Vertices (8, 3) in the camera frame (OpenCV axes) and faces (12, 3) of a box."""
    mesh = trimesh.creation.box(extents=extents_m)
    return np.asarray(mesh.vertices) + np.asarray(centre_m), np.asarray(mesh.faces)


def frame(value=40, height=H, width=W):
    return np.full((height, width, 3), value, dtype=np.uint8)


@pytest.fixture(scope="module")
def renderer():
    with MeshOverlayRenderer(alpha=1.0) as r:
        yield r


def covered_pixels(renderer, vertices, faces, ids, focal_px, centre_px, size=(H, W)):
    """Boolean (H, W) mask of the pixels the meshes cover (alpha=1 over two different frames)."""
    dark = renderer.render(frame(0, *size), vertices, faces, ids, focal_px, centre_px)
    light = renderer.render(frame(255, *size), vertices, faces, ids, focal_px, centre_px)
    return (dark == light).all(-1)


def test_nearer_person_is_in_front(renderer):
    near, faces = box([0.0, 0.0, 3.0])
    far, _ = box([0.1, 0.0, 6.0], extents_m=(1.5, 1.5, 1.5))
    ids = np.array([7, 2])  # far, near
    both = renderer.render(frame(), np.stack([far, near]), faces, ids, FOCAL, CENTRE)
    near_alone = renderer.render(frame(), near[None], faces, ids[1:], FOCAL, CENTRE)
    far_alone = renderer.render(frame(), far[None], faces, ids[:1], FOCAL, CENTRE)
    overlap = (H // 2, W // 2)  # both boxes cover it
    assert not np.array_equal(near_alone[overlap], far_alone[overlap])
    np.testing.assert_array_equal(both[overlap], near_alone[overlap])
    # A surface facing the camera shows its track's palette colour (alpha = 1 here).
    np.testing.assert_allclose(both[overlap], 255 * track_colour(2), atol=8)
    assert np.abs(both[overlap] - 255 * track_colour(7)).max() > 30
    # Order of the people in the input does not matter, only depth does.
    swapped = renderer.render(frame(), np.stack([near, far]), faces, ids[::-1], FOCAL, CENTRE)
    np.testing.assert_array_equal(swapped, both)


def test_mesh_lands_where_the_pinhole_model_projects_it(renderer):
    # Unequal focal lengths and an off-centre principal point catch swapped or mirrored axes.
    focal_px, centre_px = np.array([90.0, 70.0]), np.array([40.0, 36.0])
    vertices, faces = box([0.3, -0.25, 4.0], extents_m=(0.6, 0.4, 0.6))
    mask = covered_pixels(renderer, vertices[None], faces, [0], focal_px, centre_px)
    rows, cols = np.nonzero(mask)
    projected_xy = focal_px * vertices[:, :2] / vertices[:, 2:] + centre_px  # (8, 2)
    # The silhouette of a convex box is the hull of its projected corners; pixel (row, col)
    # has its centre at (col + 0.5, row + 0.5).
    np.testing.assert_allclose(
        [cols.min() + 0.5, rows.min() + 0.5], projected_xy.min(axis=0), atol=1.0
    )
    np.testing.assert_allclose(
        [cols.max() + 0.5, rows.max() + 0.5], projected_xy.max(axis=0), atol=1.0
    )


def test_no_people_leaves_the_frame_unchanged(renderer):
    original = frame(123)
    _, faces = box([0, 0, 3])
    out = renderer.render(original, np.zeros((0, 8, 3)), faces, np.array([], int), FOCAL, CENTRE)
    np.testing.assert_array_equal(out, original)


def test_alpha_blends_the_mesh_over_covered_pixels_only(renderer):
    vertices, faces = box([0.0, 0.0, 3.0])
    original = frame(40)
    solid = renderer.render(original, vertices[None], faces, [1], FOCAL, CENTRE)  # alpha = 1
    covered = covered_pixels(renderer, vertices[None], faces, [1], FOCAL, CENTRE)
    assert 0 < covered.sum() < covered.size
    np.testing.assert_array_equal(solid[~covered], original[~covered])
    assert (solid[covered] != original[covered]).any(-1).all()
    with MeshOverlayRenderer(alpha=0.0) as clear:
        np.testing.assert_array_equal(
            clear.render(original, vertices[None], faces, [1], FOCAL, CENTRE), original
        )
    with MeshOverlayRenderer(alpha=0.25) as light:
        blended = light.render(original, vertices[None], faces, [1], FOCAL, CENTRE)
    expected = 0.25 * solid.astype(float) + 0.75 * original
    np.testing.assert_allclose(blended, expected, atol=0.51)


def test_renderer_follows_the_frame_size_and_keeps_its_context(renderer):
    vertices, faces = box([0.0, 0.0, 3.0])
    context_before = renderer._context
    small = covered_pixels(renderer, vertices[None], faces, [1], FOCAL / 2, CENTRE / 2,
                           size=(H // 2, W // 2))
    full = covered_pixels(renderer, vertices[None], faces, [1], FOCAL, CENTRE)
    assert small.shape == (H // 2, W // 2) and full.shape == (H, W)
    # Halving focal length and image size halves the silhouette's extent.
    assert abs(2 * small.any(0).sum() - full.any(0).sum()) <= 2
    assert renderer._context is context_before


def test_side_view_doubles_the_width_and_looks_from_the_side(renderer):
    # A box long in depth looks narrow from the front and wide from the side.
    vertices, faces = box([0.0, 0.0, 4.0], extents_m=(0.2, 0.4, 1.6))
    with MeshOverlayRenderer(side_view=True) as r:
        out = r.render(frame(), vertices[None], faces, [3], FOCAL, CENTRE)
        empty = r.render(frame(), np.zeros((0, 8, 3)), faces, [], FOCAL, CENTRE)
    assert out.shape == (H, 2 * W, 3)
    front_cols = np.nonzero((out[:, :W] != frame()).any(-1).any(0))[0]
    side_cols = np.nonzero((out[:, W:] != SIDE_VIEW_BACKGROUND).any(-1).any(0))[0]
    assert len(side_cols) > 3 * len(front_cols) > 0
    # The side camera orbits the people's centroid, so the centroid stays at the same pixel.
    assert abs(side_cols.mean() - front_cols.mean()) < 1.5
    np.testing.assert_array_equal(empty[:, :W], frame())
    assert (empty[:, W:] == SIDE_VIEW_BACKGROUND).all()


def test_two_renderers_can_live_side_by_side(renderer):
    vertices, faces = box([0.0, 0.0, 3.0])
    before = renderer.render(frame(), vertices[None], faces, [4], FOCAL, CENTRE)
    with MeshOverlayRenderer(alpha=1.0) as other:
        np.testing.assert_array_equal(
            other.render(frame(), vertices[None], faces, [4], FOCAL, CENTRE), before
        )
    # Closing the other one must not tear down the GL context this one still uses.
    np.testing.assert_array_equal(
        renderer.render(frame(), vertices[None], faces, [4], FOCAL, CENTRE), before
    )


def test_track_colours_are_stable_and_distinct(renderer):
    np.testing.assert_array_equal(track_colour(5), track_colour(5))
    colours = np.stack([track_colour(i) for i in range(8)])
    distances = np.linalg.norm(colours[:, None] - colours[None], axis=-1)
    assert distances[~np.eye(8, dtype=bool)].min() > 0.15
    vertices, faces = box([0.0, 0.0, 3.0])
    first, again, other = (
        renderer.render(frame(), vertices[None], faces, [track_id], FOCAL, CENTRE)
        for track_id in (5, 5, 6)
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[H // 2, W // 2], other[H // 2, W // 2])


def test_closed_renderer_refuses_to_render():
    vertices, faces = box([0.0, 0.0, 3.0])
    r = MeshOverlayRenderer()
    r.close()
    r.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        r.render(frame(), vertices[None], faces, [1], FOCAL, CENTRE)


def test_bad_inputs_are_reported(renderer):
    _, faces = box([0, 0, 3])
    with pytest.raises(ValueError, match="track ids"):
        renderer.render(frame(), np.zeros((2, 8, 3)), faces, np.array([1]), FOCAL, CENTRE)
    with pytest.raises(ValueError, match="uint8"):
        renderer.render(frame().astype(float), np.zeros((1, 8, 3)), faces, [1], FOCAL, CENTRE)


def test_triton_imported_after_rendering_does_not_crash_the_process():
    """Mesa's LLVM and Triton's clash unless Triton loads first (the renderer sees to that)."""
    pytest.importorskip("triton")
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from aios_core.rendering.overlay import MeshOverlayRenderer\n"
        "with MeshOverlayRenderer() as r:\n"
        "    import trimesh\n"
        "    box = trimesh.creation.box()\n"
        "    r.render(np.zeros((32, 32, 3), np.uint8), [np.asarray(box.vertices) + [0, 0, 3]],"
        " np.asarray(box.faces), np.array([1]), np.array([30.0, 30.0]), np.array([16.0, 16.0]))\n"
        "    import torch._dynamo\n"
        "print('survived')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]
