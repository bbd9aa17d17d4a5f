"""SMPL-X vertices for the viewer, posed chunk by chunk on demand and kept in a bounded cache.

A long clip is never posed whole: the frame on screen is posed together with the rest of its
chunk (one batched body-model call), the next chunk is posed in the background while playing,
and the least recently used chunks are dropped once the cache holds ``max_cached_mb``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from aios_core.body.meshes import MeshMaker
from aios_core.results.results_file import RunResults
from aios_core.viewer.timeline import Timeline

DEFAULT_CHUNK_FRAMES = 16
DEFAULT_MAX_CACHED_MB = 128.0
# Rows posed per body-model call: bounds the temporary memory of one call.
_MAX_ROWS_PER_CALL = 64


@dataclass(frozen=True)
class FramePeople:
    """The people of one timeline position."""

    rows: np.ndarray  # (N,) indices into the results' detections
    track_ids: np.ndarray  # (N,)
    vertices_m: np.ndarray  # (N, V, 3) float32, camera frame


class ChunkedMeshes:
    """``frame(k)`` gives the posed people at timeline position k; see the module docstring."""

    def __init__(
        self,
        results: RunResults,
        timeline: Timeline,
        meshes: MeshMaker,
        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        max_cached_mb: float = DEFAULT_MAX_CACHED_MB,
    ):
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        self.results = results
        self.timeline = timeline
        self.meshes = meshes
        self.faces = meshes.faces  # (F, 3)
        self.chunk_frames = chunk_frames
        self.max_cached_bytes = int(max_cached_mb * 2**20)
        self._chunks: OrderedDict[int, np.ndarray] = OrderedDict()  # chunk -> (rows, V, 3)
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        # One worker: body-model calls never compete with each other for the CPU.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aios-view-meshes")

    @property
    def cached_bytes(self) -> int:
        with self._lock:
            return sum(chunk.nbytes for chunk in self._chunks.values())

    def frame(self, position: int) -> FramePeople:
        """The people at ``position``; poses its chunk first if it is not cached."""
        chunk = position // self.chunk_frames
        vertices = self._chunk(chunk).result()
        first = chunk * self.chunk_frames
        offset = len(self.timeline.rows_between(first, position))
        rows = self.timeline.rows(position)
        return FramePeople(
            rows=rows,
            track_ids=self.results.detections["track_id"][rows],
            vertices_m=vertices[offset : offset + len(rows)],
        )

    def prefetch(self, position: int) -> None:
        """Start posing the chunk holding ``position`` unless it is cached or the worker is
        busy (a prefetch never delays the frame the user asked for)."""
        if not 0 <= position < self.timeline.num_frames:
            return
        with self._lock:
            if self._pending:
                return
        self._chunk(position // self.chunk_frames)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _chunk(self, chunk: int) -> Future:
        with self._lock:
            if chunk in self._chunks:
                self._chunks.move_to_end(chunk)
                done: Future = Future()
                done.set_result(self._chunks[chunk])
                return done
            if chunk not in self._pending:
                self._pending[chunk] = self._worker.submit(self._pose_chunk, chunk)
            return self._pending[chunk]

    def _pose_chunk(self, chunk: int) -> np.ndarray:
        first = chunk * self.chunk_frames
        stop = min(first + self.chunk_frames, self.timeline.num_frames)
        rows = self.timeline.rows_between(first, stop)
        try:
            vertices = self._pose_rows(rows)
        except BaseException:
            with self._lock:
                self._pending.pop(chunk, None)
            raise
        with self._lock:  # cached and no longer pending in one step: never posed twice
            self._chunks[chunk] = vertices
            self._pending.pop(chunk, None)
            self._evict()
        return vertices

    def _pose_rows(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), V, 3) float32 vertices, posed a bounded batch at a time."""
        parts = [
            self.meshes.vertices({key: value[rows[start : start + _MAX_ROWS_PER_CALL]]
                                  for key, value in self.results.detections.items()})
            for start in range(0, len(rows), _MAX_ROWS_PER_CALL)
        ]
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, len(self.meshes.body_model.v_template), 3), np.float32)

    def _evict(self) -> None:
        """Drop least recently used chunks beyond the budget (always keeps the newest)."""
        total = sum(chunk.nbytes for chunk in self._chunks.values())
        while len(self._chunks) > 1 and total > self.max_cached_bytes:
            _, dropped = self._chunks.popitem(last=False)
            total -= dropped.nbytes
