"""Issue 13 item 8b: an image folder with images of different sizes keeps each frame's own size
and camera in the results, and the overlay renders every frame (letterboxed into the first's)."""

import cv2
import numpy as np
import pytest

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.meshes import MeshMaker
from aios_core.pipeline.render_pass import letterbox
from aios_core.pipeline.run import RunOptions, run_pipeline
from aios_core.results.results_file import load_results
from aios_core.video import MediaReader
from aios_core.world.stage import WorldOptions
from tests.fake_predictor import CrossingPeople

SIZES_WH = [(64, 48), (48, 64), (80, 40)]


class SizedPeople(CrossingPeople):
    """CrossingPeople whose camera follows each image's own size, as the network's does."""

    def result_for(self, frame, size_hw):
        self.height, self.width = size_hw
        result = super().result_for(frame, size_hw)
        result.focal_px = np.array([5000.0, 5000.0], np.float32) * size_hw[1] / 800
        return result


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    for index, (width, height) in enumerate(SIZES_WH):
        rgb = np.full((height, width, 3), 40 + 60 * index, np.uint8)
        cv2.imwrite(str(images / f"img{index}.png"), rgb)
    return images


def test_each_frame_keeps_its_size_and_camera_and_all_frames_render(folder, smplx_model_dir,
                                                                     tmp_path):
    options = RunOptions(folder, results_path=tmp_path / "r.npz",
                         render_path=tmp_path / "imgs.mp4", world=WorldOptions())
    meshes = MeshMaker(EmbeddedSMPLX.from_model_folder(smplx_model_dir))
    summary = run_pipeline(options, SizedPeople(64, 48, len(SIZES_WH)), meshes)
    assert any(w.startswith("no floor found") for w in summary.warnings)  # random bodies
    results = load_results(tmp_path / "r.npz")
    assert results.image_size_wh_per_frame.tolist() == [list(s) for s in SIZES_WH]
    assert results.principal_point_px_per_frame.tolist() == [[w / 2, h / 2] for w, h in SIZES_WH]
    np.testing.assert_allclose(results.focal_px_per_frame[:, 0],
                               [5000 * w / 800 for w, _ in SIZES_WH])
    frames = [frame.rgb for frame in MediaReader(tmp_path / "imgs.mp4")]
    assert len(frames) == len(SIZES_WH)
    assert all(frame.shape == (48, 64, 3) for frame in frames)


def test_letterbox_keeps_the_aspect_ratio_on_black():
    image = np.full((64, 48, 3), 200, np.uint8)  # portrait into landscape
    boxed = letterbox(image, (48, 64))
    assert boxed.shape == (48, 64, 3)
    assert (boxed[:, :10] == 0).all() and (boxed[:, -10:] == 0).all()  # 36 px wide, centred
    assert (boxed[:, 14:50] == 200).all()
