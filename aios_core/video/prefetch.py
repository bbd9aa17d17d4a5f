"""Decode frames on a background thread into a bounded queue of fixed-size batches.

    with PrefetchingDecoder(reader, batch_size=8) as batches:
        for batch in batches:          # FrameBatch of up to 8 frames
            run_model(batch.images)

At most ``max_queued_batches`` batches wait in the queue, plus the one being filled and
the one being consumed, so memory stays flat however long the video is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from aios_core.video.reader import DecodedFrame

_POLL_S = 0.1  # how often blocked queue operations look at the stop flag


@dataclass
class FrameBatch:
    indices: list[int] = field(default_factory=list)
    timestamps_s: list[float] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)  # each (H, W, 3) uint8 RGB

    def __len__(self) -> int:
        return len(self.indices)

    def append(self, frame: DecodedFrame) -> None:
        self.indices.append(frame.index)
        self.timestamps_s.append(frame.timestamp_s)
        self.images.append(frame.rgb)


class _EndOfStream:
    """Queue sentinel; carries the producer's exception, if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class PrefetchingDecoder:
    """Iterate batches of frames decoded ahead of time on a daemon thread.

    An exception raised while decoding is re-raised in the consuming thread after the
    batches decoded before it. Leaving the ``with`` block (or closing the iterator),
    including through KeyboardInterrupt, stops and joins the decode thread.
    """

    def __init__(
        self, frames: Iterable[DecodedFrame], batch_size: int, max_queued_batches: int = 2
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_queued_batches < 1:
            raise ValueError(f"max_queued_batches must be >= 1, got {max_queued_batches}")
        self.batch_size = batch_size
        self._frames = frames
        self._queue: queue.Queue[FrameBatch | _EndOfStream] = queue.Queue(max_queued_batches)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PrefetchingDecoder:
        self._start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __iter__(self) -> Iterator[FrameBatch]:
        self._start()
        try:
            while True:
                item = self._get()
                if isinstance(item, _EndOfStream):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the decode thread and wait for it; safe to call more than once."""
        self._stop.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        while thread.is_alive():
            self._drain()  # unblocks a producer waiting on a full queue
            thread.join(_POLL_S)

    # ----------------------------------------------------------------------------- internals

    def _start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._produce, name="frame-prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        iterator = iter(self._frames)
        error: BaseException | None = None
        try:
            batch = FrameBatch()
            for frame in iterator:
                batch.append(frame)
                if len(batch) == self.batch_size:
                    if not self._put(batch):
                        return
                    batch = FrameBatch()
            if len(batch) and not self._put(batch):
                return
        except BaseException as err:  # handed to the consumer, which re-raises it
            error = err
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator must be closed by the thread that runs it
        self._put(_EndOfStream(error))

    def _put(self, item: FrameBatch | _EndOfStream) -> bool:
        """Block until there is room; False when the consumer asked us to stop."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self) -> FrameBatch | _EndOfStream:
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                thread = self._thread
                if thread is not None and not thread.is_alive() and self._queue.empty():
                    return _EndOfStream()  # stopped without a sentinel (close() was called)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
