import numpy as np
import pytest

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.meshes import MeshMaker
from aios_core.pipeline.run import RunOptions, RunOutputError, partial_path, run_pipeline
from aios_core.results.results_file import PER_DETECTION_SHAPES, load_results
from aios_core.video import MediaReader, VideoInputError
from tests.fake_predictor import CrossingPeople
from tests.synthetic_media import HEIGHT, WIDTH, decode_audio_samples, write_video

FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES, fps=25, audio_s=0.5)


@pytest.fixture(scope="module")
def meshes(smplx_model_dir):
    return MeshMaker(EmbeddedSMPLX.from_model_folder(smplx_model_dir))


def test_run_renders_every_frame_at_input_fps_with_audio(clip, meshes, tmp_path):
    options = RunOptions(
        clip, results_path=tmp_path / "r.npz", render_path=tmp_path / "overlay.mp4", batch_size=4
    )
    summary = run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES), meshes)
    rendered = MediaReader(tmp_path / "overlay.mp4")
    assert len(list(rendered)) == FRAMES
    assert rendered.info.fps == MediaReader(clip).info.fps
    assert rendered.info.has_audio
    assert len(decode_audio_samples(tmp_path / "overlay.mp4")) > 0
    assert summary.frames == FRAMES and summary.tracks == 2
    assert summary.summary_path.is_file()


def test_results_follow_the_schema_and_ids_survive_the_crossing(clip, tmp_path):
    options = RunOptions(clip, results_path=tmp_path / "r.npz", batch_size=5)
    run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES))
    results = load_results(tmp_path / "r.npz")
    assert results.num_frames == FRAMES and results.num_detections == 2 * FRAMES
    for key, tail in PER_DETECTION_SHAPES.items():
        assert results.detections[key].shape == (2 * FRAMES, *tail)
    boxes = results.detections["body_box_xyxy_px"]
    for track in results.track_ids():
        rows = np.flatnonzero(results.detections["track_id"] == track)
        centres = (boxes[rows, 0] + boxes[rows, 2]) / 2
        steps = np.diff(centres)
        assert len(rows) == FRAMES
        assert (steps > 0).all() or (steps < 0).all(), "a track jumped to the other person"


def test_resume_after_interruption_equals_an_uninterrupted_run(clip, tmp_path):
    whole = RunOptions(clip, results_path=tmp_path / "whole.npz", batch_size=3)
    run_pipeline(whole, CrossingPeople(WIDTH, HEIGHT, FRAMES))

    options = RunOptions(
        clip, results_path=tmp_path / "cut.npz", batch_size=3, checkpoint_every_frames=3
    )
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES, fail_after_calls=2))
    assert partial_path(tmp_path / "cut.npz").is_file()
    assert not (tmp_path / "cut.npz").exists()

    resumed_predictor = CrossingPeople(WIDTH, HEIGHT, FRAMES)
    resumed_predictor.frames_seen = 6  # the stand-in's clock; the network has none
    options.resume = True
    summary = run_pipeline(options, resumed_predictor)
    assert summary.resumed_from_frame == 6
    assert resumed_predictor.calls == 2  # only the 6 unfinished frames were inferred
    expected, got = load_results(tmp_path / "whole.npz"), load_results(tmp_path / "cut.npz")
    for key in PER_DETECTION_SHAPES:
        np.testing.assert_array_equal(got.detections[key], expected.detections[key], err_msg=key)
    assert not partial_path(tmp_path / "cut.npz").exists()


def test_num_people_and_frame_range(clip, tmp_path):
    options = RunOptions(
        clip, results_path=tmp_path / "r.npz", num_people=1, start_frame=2, max_frames=5
    )
    run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES))
    results = load_results(tmp_path / "r.npz")
    assert results.num_frames == 5
    assert results.detections["frame_index"].tolist() == [2, 3, 4, 5, 6]


def test_missing_input_and_unwritable_output(clip, tmp_path):
    with pytest.raises(VideoInputError):
        run_pipeline(RunOptions(tmp_path / "absent.mp4"), CrossingPeople(WIDTH, HEIGHT, 1))
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(RunOutputError, match="is a file, not a folder"):
        run_pipeline(
            RunOptions(clip, results_path=tmp_path / "plain" / "r.npz"),
            CrossingPeople(WIDTH, HEIGHT, 1),
        )


def test_pipeline_with_a_tiny_random_network(clip, meshes, tmp_path):
    """The real predictor path: preprocessing, network, post-processing, tracking, render."""
    from aios_core.inference.predictor import NetworkPredictor
    from tests.tiny_network import build_tiny_network

    predictor = NetworkPredictor(build_tiny_network(), threshold=0.0)
    options = RunOptions(
        clip, results_path=tmp_path / "r.npz", render_path=tmp_path / "o.mp4",
        batch_size=2, max_frames=4, num_people=2,
    )
    summary = run_pipeline(options, predictor, meshes)
    results = load_results(tmp_path / "r.npz")
    assert results.num_frames == 4 and summary.frames == 4
    assert results.num_detections == 8  # threshold 0 keeps the 2 best of every frame
    assert set(results.detections["frame_index"].tolist()) == {0, 1, 2, 3}
    assert np.isfinite(results.detections["transl_m"]).all()
    assert len(list(MediaReader(tmp_path / "o.mp4"))) == 4


def test_interrupted_while_rendering_keeps_every_frame_for_resume(clip, meshes, tmp_path):
    from aios_core.pipeline.run import interrupted_run_advice

    options = RunOptions(clip, results_path=tmp_path / "r.npz",
                         render_path=tmp_path / "o.mp4", batch_size=4)

    def stop(*_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES), meshes, on_render_frame=stop)
    assert load_results(partial_path(tmp_path / "r.npz")).num_frames == FRAMES
    assert not (tmp_path / "o.mp4").exists()
    assert interrupted_run_advice(options).startswith(f"{FRAMES} finished frames saved in ")

    options.resume = True
    predictor = CrossingPeople(WIDTH, HEIGHT, FRAMES)
    summary = run_pipeline(options, predictor, meshes)
    assert predictor.calls == 0 and summary.resumed_from_frame == FRAMES  # nothing re-inferred
    assert len(list(MediaReader(tmp_path / "o.mp4"))) == FRAMES
    assert not partial_path(tmp_path / "r.npz").exists()


def test_advice_after_an_interruption_before_any_frame(clip, tmp_path):
    from aios_core.pipeline.run import interrupted_run_advice

    options = RunOptions(clip, results_path=tmp_path / "r.npz", batch_size=4)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(options, CrossingPeople(WIDTH, HEIGHT, FRAMES, fail_after_calls=0))
    assert not partial_path(tmp_path / "r.npz").exists()
    assert interrupted_run_advice(options) == "no frame was finished yet, so nothing was saved"


def test_a_slow_run_is_checkpointed_by_time_too(clip, tmp_path):
    """A SIGKILL after the grace period (docker stop, Slurm) loses at most that much work."""
    options = RunOptions(clip, results_path=tmp_path / "r.npz", batch_size=2,
                         checkpoint_every_frames=1000, checkpoint_every_s=0.0)
    saved_frames = []

    class Watching(CrossingPeople):
        def __call__(self, images):
            checkpoint = partial_path(tmp_path / "r.npz")
            if checkpoint.exists():
                saved_frames.append(load_results(checkpoint).num_frames)
            return super().__call__(images)

    run_pipeline(options, Watching(WIDTH, HEIGHT, FRAMES))
    assert saved_frames == list(range(2, FRAMES, 2))  # after every batch, not at 1000 frames
