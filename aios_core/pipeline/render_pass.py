"""Second pass over the input: draw each frame's tracked people and encode the overlay video."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from aios_core.body.meshes import MeshMaker
from aios_core.rendering.floor_grid import FloorGrid, draw_floor_grid
from aios_core.rendering.overlay import MeshOverlayRenderer
from aios_core.results.results_file import RunResults
from aios_core.video import MediaReader, PrefetchingDecoder, VideoInputError, VideoWriter


def render_overlay(
    reader: MediaReader,
    results: RunResults,
    meshes: MeshMaker,
    out_path: Path,
    side_view: bool = False,
    on_frame: Callable[[], None] | None = None,
    floor: bool = False,
) -> VideoWriter:
    """Decode ``reader`` again, render every frame that was processed, write ``out_path``.

    The output keeps the input's frame rate (and timestamps) and its audio track. Frames of
    another size than the first (image folders) are drawn at their own size, then letterboxed.
    ``floor``: draw the world block's floor as a grid under the people (needs ``results.world``).
    """
    world = results.world if floor else None
    grid = FloorGrid.around(world.transl_m) if world is not None else None
    rows_by_frame: dict[int, list[int]] = {}
    for row, frame in enumerate(results.detections["frame_index"]):
        rows_by_frame.setdefault(int(frame), []).append(row)
    audio_source = reader.info.path if reader.info.has_audio else None
    writer: VideoWriter | None = None
    video_size_hw: tuple[int, int] | None = None  # the first frame's; others are letterboxed
    first_timestamp_s = 0.0
    try:
        with MeshOverlayRenderer(side_view=side_view) as renderer, PrefetchingDecoder(
            reader, batch_size=1, max_queued_batches=4
        ) as batches:
            for batch in batches:
                for index, timestamp_s, rgb in zip(
                    batch.indices, batch.timestamps_s, batch.images, strict=True
                ):
                    if writer is None:
                        # Audio and timestamps start where the processed range starts.
                        first_timestamp_s = timestamp_s
                        writer = VideoWriter(
                            out_path, reader.info.fps, audio_from=audio_source,
                            audio_start_s=first_timestamp_s,
                        )
                    rows = rows_by_frame.get(index, [])
                    people = {key: value[rows] for key, value in results.detections.items()}
                    vertices = (
                        meshes.vertices(people) if rows else np.zeros((0, 0, 3), np.float32)
                    )
                    frame_row = results.frame_row(index)  # each frame has its own camera
                    if grid is not None:
                        rgb = draw_floor_grid(
                            rgb.copy(), grid, world.camera_to_world_R[frame_row],
                            world.camera_position_m[frame_row],
                            results.focal_px_per_frame[frame_row],
                            results.principal_point_px_per_frame[frame_row],
                        )
                    image = renderer.render(
                        rgb, vertices, meshes.faces, people["track_id"],
                        results.focal_px_per_frame[frame_row],
                        results.principal_point_px_per_frame[frame_row],
                    )
                    if video_size_hw is None:
                        video_size_hw = image.shape[:2]
                    image = letterbox(image, video_size_hw)
                    writer.write(image, timestamp_s=timestamp_s - first_timestamp_s)
                    if on_frame:
                        on_frame()
    except BaseException:
        if writer is not None:
            writer.abort()  # no half-written video is left behind
        raise
    if writer is None:
        raise VideoInputError(f"{results.source}: no frame could be decoded for rendering")
    writer.close()
    return writer


def letterbox(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size_hw`` keeping its aspect ratio, centred on black."""
    if image.shape[:2] == tuple(size_hw):
        return image
    import cv2

    height, width = size_hw
    scale = min(width / image.shape[1], height / image.shape[0])
    fitted_w = max(1, round(image.shape[1] * scale))
    fitted_h = max(1, round(image.shape[0] * scale))
    fitted = cv2.resize(image, (fitted_w, fitted_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - fitted_h) // 2, (width - fitted_w) // 2
    canvas[top:top + fitted_h, left:left + fitted_w] = fitted
    return canvas
