"""Second pass over the input: draw each frame's tracked people and encode the overlay video."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from aios_core.io.results_file import RunResults
from aios_core.pipeline.meshes import MeshMaker
from aios_core.rendering.overlay import MeshOverlayRenderer
from aios_core.video import MediaReader, PrefetchingDecoder, VideoInputError, VideoWriter


def render_overlay(
    reader: MediaReader,
    results: RunResults,
    meshes: MeshMaker,
    out_path: Path,
    side_view: bool = False,
    on_frame: Callable[[], None] | None = None,
) -> VideoWriter:
    """Decode ``reader`` again, render every frame that was processed, write ``out_path``.

    The output keeps the input's frame rate (and timestamps) and its audio track.
    """
    rows_by_frame: dict[int, list[int]] = {}
    for row, frame in enumerate(results.detections["frame_index"]):
        rows_by_frame.setdefault(int(frame), []).append(row)
    audio_source = reader.info.path if reader.info.has_audio else None
    writer: VideoWriter | None = None
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
                    image = renderer.render(
                        rgb, vertices, meshes.faces, people["track_id"], results.focal_px,
                        results.principal_point_px,
                    )
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
