"""Optional detector labels for tracks: run on motion regions, voted over each track."""

from __future__ import annotations

import numpy as np

from ..records import Frame


class TrackLabeller:
    """Runs the region detector now and then and keeps a label vote per track."""

    def __init__(self, detector_path: str, classes: str = "coco", every: int = 3) -> None:
        from ..detect.dnn import load_detector
        from ..detect.labels import COCO_TO_CLASS, OVERHEAD_CLASS_MAP
        from ..track.vote import LabelVote, assign_labels

        class_map = OVERHEAD_CLASS_MAP if classes == "overhead" else COCO_TO_CLASS
        self._detector = load_detector(detector_path, class_map=class_map)
        self._assign = assign_labels
        self._vote = LabelVote()
        self._every = max(1, every)
        self._n = 0

    def observe(self, frame: Frame, xyxy: np.ndarray, track_ids: np.ndarray) -> None:
        self._n += 1
        if self._n % self._every or frame.to_bgr is None:
            return
        det = self._detector.detect(frame.to_bgr(), xyxy)
        for tid, hit in zip(track_ids, self._assign(xyxy, det)):
            if hit is not None:
                self._vote.add(int(tid), hit[0], hit[1])

    def label(self, track_id: int) -> tuple[str, float]:
        return self._vote.result(track_id)

    def drop(self, track_id: int) -> None:
        self._vote.drop(track_id)
