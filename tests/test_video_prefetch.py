import threading
import time

import numpy as np
import pytest
from synthetic_media import write_video

from aios_core.video import DecodedFrame, MediaReader, PrefetchingDecoder


class CountingFrames:
    """An endless (or failing) frame source that records how far it has been pulled."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.produced = 0
        self.closed = threading.Event()
        self.fail_after = fail_after

    def __iter__(self):
        try:
            while True:
                if self.fail_after is not None and self.produced == self.fail_after:
                    raise OSError("disk vanished")
                self.produced += 1
                yield DecodedFrame(self.produced - 1, 0.0, np.zeros((2, 2, 3), np.uint8))
        finally:
            self.closed.set()


def test_batches_cover_the_video_in_order(tmp_path):
    path = write_video(tmp_path / "ten.mkv", n_frames=10)
    reader = MediaReader(path)
    with PrefetchingDecoder(reader, batch_size=4) as batches:
        got = list(batches)
    assert [len(b) for b in got] == [4, 4, 2]
    assert [i for b in got for i in b.indices] == list(range(10))
    expected = list(reader)
    flat = [img for b in got for img in b.images]
    assert all(np.array_equal(a, e.rgb) for a, e in zip(flat, expected, strict=True))
    np.testing.assert_allclose([t for b in got for t in b.timestamps_s], np.arange(10) / 25)


def test_queue_is_bounded_and_close_stops_the_thread():
    source = CountingFrames()
    decoder = PrefetchingDecoder(source, batch_size=3, max_queued_batches=2)
    batches = iter(decoder)
    first = next(batches)
    assert first.indices == [0, 1, 2]
    time.sleep(0.3)  # let the producer run until the queue is full
    # queued batches + the one being filled + the one handed out
    assert source.produced <= 3 * (2 + 2)
    decoder.close()
    assert source.closed.wait(2.0)
    assert not decoder._thread.is_alive()


def test_decode_error_reaches_the_consumer_after_good_batches():
    source = CountingFrames(fail_after=5)
    seen = []
    with pytest.raises(OSError, match="disk vanished"):
        for batch in PrefetchingDecoder(source, batch_size=2):
            seen.extend(batch.indices)
    assert seen == [0, 1, 2, 3]


def test_keyboard_interrupt_in_consumer_shuts_down_cleanly():
    source = CountingFrames()
    decoder = PrefetchingDecoder(source, batch_size=2, max_queued_batches=1)
    with pytest.raises(KeyboardInterrupt):
        with decoder as batches:
            for _ in batches:
                raise KeyboardInterrupt
    assert source.closed.is_set()
    assert not decoder._thread.is_alive()
