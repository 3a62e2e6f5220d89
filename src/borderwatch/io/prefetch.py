"""Decode ahead on a thread, so decoding and analysis overlap on two cores.

PyAV releases the GIL inside FFmpeg's decode calls and OpenCV releases it inside its
kernels, so a decoder thread and the analysing thread really run in parallel. FFmpeg's
own frame threads do not keep two cores busy on their own (``ffmpeg -threads 2`` used
about 1.6 of 2 cores on a 720p H.264 clip), which leaves some room for the analysis.

Each item carries the number of decode gaps known when the frame was produced, so the
consumer sees gaps in step with its frames even though the decoder runs ahead.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from ..records import Frame
from .base import Source

_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetch:
    """Iterate ``(frame, gaps_so_far)`` from ``source``, up to ``depth`` x ``batch`` frames ahead."""

    def __init__(self, source: Source, depth: int = 4, batch: int = 4) -> None:
        self._batch = batch
        self.source = source
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="borderwatch-decode", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        # Frames travel in small batches: a queue hand-over costs about as much as
        # the Python side of decoding one frame.
        try:
            batch: list[tuple[Frame, int]] = []
            for frame in self.source:
                batch.append((frame, len(self.source.gaps)))
                if len(batch) >= self._batch:
                    if not self._put(batch):
                        return
                    batch = []
            if batch and not self._put(batch):
                return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(_Failure(exc))

    def __iter__(self) -> Iterator[tuple[Frame, int]]:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield from item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the decoder thread (it finishes its current frame) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
