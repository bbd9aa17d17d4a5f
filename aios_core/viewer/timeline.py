"""The viewer's time axis: which results rows belong to each processed frame, and each track's
span of frames.

Position ``k`` on the timeline is the k-th processed frame of the run (0 .. F-1). Results of
schema 2 list every processed frame (``frame_index_per_frame``); schema-1 files do not, so the
processed frames are taken as consecutive, starting at the first frame with a detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.results.results_file import RunResults


@dataclass(frozen=True)
class TrackSpan:
    """One person's track: its id and the input frames it covers."""

    track_id: int
    first_frame: int  # input frame index
    last_frame: int  # input frame index, inclusive
    num_frames: int  # frames in which the track has a detection


class Timeline:
    """Rows of each processed frame, frame indices and timestamps, and the tracks' spans."""

    def __init__(self, results: RunResults):
        frame_index = results.detections["frame_index"]  # (D,)
        self.frame_indices = _processed_frames(results)  # (F,) input frame index per position
        self.fps = float(results.fps) if results.fps > 0 else 30.0
        position = np.searchsorted(self.frame_indices, frame_index)
        position = np.minimum(position, len(self.frame_indices) - 1)
        on_timeline = self.frame_indices[position] == frame_index
        rows = np.flatnonzero(on_timeline)
        order = np.argsort(position[rows], kind="stable")  # keeps the file's score order
        self._rows = rows[order]
        self._starts = np.searchsorted(position[self._rows], np.arange(self.num_frames + 1))
        self.timestamps_s = self._timestamps(results.detections["timestamp_s"])  # (F,)
        self.tracks = _track_spans(results, on_timeline)

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)

    def rows(self, position: int) -> np.ndarray:
        """Indices into the results' detections of the people at timeline ``position``."""
        return self._rows[self._starts[position] : self._starts[position + 1]]

    def rows_between(self, start: int, stop: int) -> np.ndarray:
        """Rows of positions start .. stop-1, in timeline order."""
        return self._rows[self._starts[start] : self._starts[stop]]

    def _timestamps(self, row_timestamps_s: np.ndarray) -> np.ndarray:
        """Each frame's presentation time: from its detections, interpolated where it has none."""
        known = [k for k in range(self.num_frames) if self._starts[k + 1] > self._starts[k]]
        if not known:
            return self.frame_indices / self.fps
        known_times = row_timestamps_s[self._rows[self._starts[known]]]
        nominal = self.frame_indices / self.fps
        # Interpolate the offset from the nominal clock so gaps at either end extrapolate at
        # the nominal rate instead of standing still.
        offset = np.interp(np.arange(self.num_frames), known, known_times - nominal[known])
        return nominal + offset


def _processed_frames(results: RunResults) -> np.ndarray:
    per_frame = getattr(results, "frame_index_per_frame", None)
    if per_frame is not None and len(per_frame):
        return np.asarray(per_frame, dtype=np.int64)
    frame_index = results.detections["frame_index"]
    first = int(frame_index.min()) if len(frame_index) else 0
    last = int(frame_index.max()) if len(frame_index) else 0
    count = max(int(results.num_frames), last - first + 1, 1)
    return np.arange(first, first + count, dtype=np.int64)


def _track_spans(results: RunResults, on_timeline: np.ndarray) -> list[TrackSpan]:
    track_id = results.detections["track_id"][on_timeline]
    frame_index = results.detections["frame_index"][on_timeline]
    spans = []
    for track in np.unique(track_id):
        frames = frame_index[track_id == track]
        spans.append(TrackSpan(int(track), int(frames.min()), int(frames.max()),
                               len(np.unique(frames))))
    return spans
