"""Optional object labelling with a small YOLO, run only where something moved.

Running a COCO detector on every full frame would cost more than the whole motion
pipeline, and shrinks small distant objects below what a 320 px net can see. Instead
the caller passes the (merged) motion boxes; each gets a padded square window, windows
that overlap are merged so no pixel goes through the net twice, and at most
``max_runs`` windows are run per frame. See docs/detector.md for measurements.

>>> det = load_detector("models/yolo-fastest-1.1.cfg")          # doctest: +SKIP
>>> d = det.detect(bgr, np.array([[300, 80, 440, 330]]))        # doctest: +SKIP
>>> d.data["class_name"]                                        # doctest: +SKIP
array(['person'], dtype='<U7')
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from borderwatch.detect.labels import CLASSES, COCO_NAMES, COCO_TO_CLASS, class_table
from borderwatch.errors import DetectorError

_PAD_VALUE = 114  # Ultralytics letterbox grey; neutral for Darknet models too
_DEFAULT_ONNX_SIZE = 640


def load_detector(
    path: str | Path,
    *,
    conf: float = 0.25,
    nms: float = 0.45,
    input_size: int | None = None,
    names: str | Path | None = None,
    class_map: Mapping[str, str] = COCO_TO_CLASS,
    max_runs: int = 4,
    pad: float = 0.3,
) -> RegionDetector:
    """Load a Darknet ``.cfg`` (+ same-stem ``.weights``) or a YOLO ``.onnx`` model.

    Class names come from ``names``, else ``coco.names`` beside the model, else the
    80 built-in COCO names. Every failure raises :class:`DetectorError`.
    """
    p = Path(path)
    if not p.is_file():
        raise DetectorError(f"detector model not found: {p}")
    if not hasattr(cv2, "dnn"):
        raise DetectorError("this OpenCV build has no dnn module; install opencv-python<5")
    class_names = _read_names(Path(names) if names is not None else p.with_name("coco.names"),
                              explicit=names is not None)
    try:
        if p.suffix.lower() == ".onnx":
            net = cv2.dnn.readNetFromONNX(str(p))
            size = input_size or _DEFAULT_ONNX_SIZE
            layout = "onnx"
        elif p.suffix.lower() == ".cfg":
            net, size = _load_darknet(p, conf, input_size)
            layout = "darknet"
        else:
            raise DetectorError(f"detector must be a Darknet .cfg or an .onnx file, got {p.name}")
    except cv2.error as e:
        raise DetectorError(f"cannot load detector {p.name}: {_cv_msg(e)}") from None
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    det = RegionDetector(net, layout, size, class_names, class_map=class_map, conf=conf,
                         nms=nms, max_runs=max_runs, pad=pad)
    det.warm_up()  # fail at load, not an hour into a scan, when weights don't fit the cfg
    return det


def _load_darknet(cfg: Path, conf: float, input_size: int | None) -> tuple[cv2.dnn.Net, int]:
    if not hasattr(cv2.dnn, "readNetFromDarknet"):
        raise DetectorError(
            f"OpenCV {cv2.__version__} has no Darknet loader; install opencv-python<5"
        )
    weights = cfg.with_suffix(".weights")
    if not weights.is_file():
        raise DetectorError(f"Darknet weights not found next to the cfg: {weights}")
    try:
        text = cfg.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise DetectorError(f"cannot read Darknet cfg {cfg.name}: {e}") from None
    w, h = _net_size(text, cfg.name)
    if input_size is None and w != h:
        raise DetectorError(f"Darknet cfg {cfg.name} is {w}x{h}; pass a square input_size")
    # OpenCV's yolo layer zeroes class scores below the cfg's `thresh` (0.24 when unset),
    # so a lower --conf would silently do nothing; lower the layer threshold to match.
    text = re.sub(r"(?m)^\s*thresh\s*=.*$", "", text)
    text = re.sub(r"(?m)^\[yolo\]\s*$", f"[yolo]\nthresh={min(conf, 0.24):.4f}", text)
    blob = np.fromfile(weights, np.uint8)
    net = cv2.dnn.readNetFromDarknet(np.frombuffer(text.encode(), np.uint8), blob)
    if net.empty():
        raise DetectorError(f"cannot load detector {cfg.name}: OpenCV returned an empty net")
    # OpenCV reads a truncated or mismatched .weights without complaint and runs on
    # garbage, so check the size: a 16- or 20-byte header plus one float per parameter.
    params = sum(b.size for name in net.getLayerNames() if (layer := net.getLayer(name)).type
                 != "Region" for b in layer.blobs)
    if blob.size - 4 * params not in (16, 20):
        raise DetectorError(f"{weights.name} does not match {cfg.name}: {blob.size} bytes, "
                            f"expected {4 * params + 20}")
    return net, input_size or w


def _net_size(cfg_text: str, name: str) -> tuple[int, int]:
    m = re.search(r"(?ms)^\[net\](.*?)(?=^\[|\Z)", cfg_text)
    if not m:
        raise DetectorError(f"not a Darknet cfg (no [net] section): {name}")
    vals = dict(re.findall(r"(?m)^\s*(width|height)\s*=\s*(\d+)", m.group(1)))
    if "width" not in vals or "height" not in vals:
        raise DetectorError(f"Darknet cfg {name} lacks [net] width/height")
    return int(vals["width"]), int(vals["height"])


def _read_names(path: Path, explicit: bool) -> list[str]:
    if not path.is_file():
        if explicit:
            raise DetectorError(f"class names file not found: {path}")
        return list(COCO_NAMES)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DetectorError(f"cannot read class names {path}: {e}") from None
    names = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not names:
        raise DetectorError(f"class names file is empty: {path}")
    return names


def _cv_msg(e: cv2.error) -> str:
    # OpenCV messages span several lines with source paths; keep the reason only.
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    reason = next((ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln), "")
    return reason or (lines[-1] if lines else "OpenCV error")


class RegionDetector:
    """A loaded YOLO model that classifies motion regions of BGR frames."""

    def __init__(
        self,
        net: cv2.dnn.Net,
        layout: str,
        input_size: int,
        names: Sequence[str],
        *,
        class_map: Mapping[str, str] = COCO_TO_CLASS,
        conf: float = 0.25,
        nms: float = 0.45,
        max_runs: int = 4,
        pad: float = 0.3,
    ) -> None:
        self.net = net
        self.layout = layout
        self.input_size = int(input_size)
        self.names = list(names)
        self.conf, self.nms, self.max_runs, self.pad = conf, nms, max_runs, pad
        self._to_class = np.asarray(class_table(self.names, class_map), dtype=np.int64)
        self._out_names = list(net.getUnconnectedOutLayersNames())
        self.last_ms: list[float] = []  # forward time per window of the last detect()

    def warm_up(self) -> None:
        """One forward pass on a blank frame (also validates weights against the cfg)."""
        blank = np.full((self.input_size, self.input_size, 3), _PAD_VALUE, np.uint8)
        try:
            self._run(blank)
        except DetectorError as e:
            onnx = self.layout == "onnx"
            hint = "; a fixed-size ONNX export needs its input_size" if onnx else ""
            raise DetectorError(f"{e}{hint}") from None

    def windows(self, regions: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
        """The square crop windows (int xyxy, may extend past the frame) for ``regions``."""
        h, w = frame_shape[:2]
        return plan_windows(regions, (w, h), pad=self.pad,
                            min_side=self.input_size // 2, max_runs=self.max_runs)

    def detect(self, bgr: np.ndarray, regions: np.ndarray) -> sv.Detections:
        """Detections of person/vehicle/animal near ``regions`` (xyxy, full-frame px).

        Result: ``xyxy`` in frame pixels, ``confidence``, ``class_id`` indexing
        :data:`CLASSES`, ``data["class_name"]`` and ``data["source_name"]`` (COCO name).
        """
        self.last_ms = []
        if bgr.ndim == 2:  # grey sources (thermal, IR trail cameras)
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        boxes, scores, ids = [], [], []
        for win in self.windows(np.asarray(regions, dtype=np.float64).reshape(-1, 4), bgr.shape):
            crop, x0, y0 = _crop_square(bgr, win)
            t0 = time.perf_counter()
            b, s, c = self._run(crop)
            self.last_ms.append((time.perf_counter() - t0) * 1000.0)
            scale = crop.shape[0] / self.input_size
            boxes.append(b * scale + (x0, y0, x0, y0))
            scores.append(s)
            ids.append(c)
        return self._finish(bgr.shape, boxes, scores, ids)

    def _run(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blob = cv2.dnn.blobFromImage(crop, 1 / 255.0, (self.input_size, self.input_size),
                                     swapRB=True, crop=False)
        try:
            self.net.setInput(blob)
            outs = self.net.forward(self._out_names)
        except cv2.error as e:
            raise DetectorError(f"detector failed: {_cv_msg(e)}") from None
        if self.layout == "darknet":
            return decode_darknet(outs, self.conf, self.input_size, len(self.names))
        return decode_yolo_onnx(outs[0], self.conf, self.input_size, len(self.names))

    def _finish(self, shape: tuple[int, ...], boxes: list[np.ndarray],
                scores: list[np.ndarray], ids: list[np.ndarray]) -> sv.Detections:
        if not boxes or sum(len(s) for s in scores) == 0:
            return empty_detections()
        xyxy, score, coco = np.concatenate(boxes), np.concatenate(scores), np.concatenate(ids)
        cls = self._to_class[coco]
        keep = cls >= 0  # drop classes borderwatch does not count
        xyxy, score, coco, cls = xyxy[keep], score[keep], coco[keep], cls[keep]
        h, w = shape[:2]
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        if len(score) == 0:
            return empty_detections()
        # NMS across all windows in frame space, per borderwatch class, so an object
        # seen by two windows is reported once.
        xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]])
        idx = np.asarray(cv2.dnn.NMSBoxesBatched(xywh.tolist(), score.tolist(), cls.tolist(),
                                                 self.conf, self.nms), dtype=np.int64).ravel()
        idx = idx[np.argsort(-score[idx], kind="stable")]
        return sv.Detections(
            xyxy=xyxy[idx].astype(np.float32), confidence=score[idx].astype(np.float32),
            class_id=cls[idx],
            data={"class_name": np.array([CLASSES[i] for i in cls[idx]], dtype="<U7"),
                  "source_name": np.array([self.names[i] for i in coco[idx]], dtype=object)},
        )


def empty_detections() -> sv.Detections:
    """Zero detections with the same fields :meth:`RegionDetector.detect` fills."""
    return sv.Detections(
        xyxy=np.empty((0, 4), np.float32), confidence=np.empty(0, np.float32),
        class_id=np.empty(0, np.int64),
        data={"class_name": np.empty(0, dtype="<U7"), "source_name": np.empty(0, dtype=object)},
    )


def _crop_square(bgr: np.ndarray, win: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The window's pixels; parts outside the frame are padded grey, not stretched."""
    x1, y1, x2, y2 = (int(v) for v in win)
    h, w = bgr.shape[:2]
    if x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h:
        return bgr[y1:y2, x1:x2], x1, y1
    out = np.full((y2 - y1, x2 - x1, 3), _PAD_VALUE, np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = bgr[sy1:sy2, sx1:sx2]
    return out, x1, y1


def _cxcywh_to_xyxy(a: np.ndarray) -> np.ndarray:
    half = a[:, 2:4] / 2.0
    return np.column_stack([a[:, :2] - half, a[:, :2] + half])


def decode_darknet(
    outs: Sequence[np.ndarray], conf: float, size: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV Darknet yolo-layer rows ``[cx, cy, w, h, obj, p_1..p_n]`` (0..1 units).

    OpenCV already multiplies class probabilities by objectness. Returns boxes in
    input pixels, best score and class id per kept row.
    """
    a = np.concatenate([np.asarray(o).reshape(-1, np.asarray(o).shape[-1]) for o in outs])
    if a.shape[1] != 5 + n_classes:
        raise DetectorError(
            f"model outputs {a.shape[1] - 5} classes but the names list has {n_classes}; "
            "pass the model's own names file")
    probs = a[:, 5:]
    cid = probs.argmax(1)
    score = probs[np.arange(len(a)), cid]
    keep = score >= conf
    return _cxcywh_to_xyxy(a[keep, :4]) * size, score[keep], cid[keep]


def decode_yolo_onnx(
    out: np.ndarray, conf: float, size: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a raw (pre-NMS) YOLO ONNX head.

    Supported: YOLOv5/v7 ``(1, N, 5+nc)`` rows ``[cx, cy, w, h, obj, p...]`` and
    YOLOv8/v11 ``(1, 4+nc, N)`` (or transposed) rows ``[cx, cy, w, h, p...]``, in
    input pixels or 0..1 units. End-to-end heads with built-in NMS are not supported.
    """
    a = np.asarray(out, dtype=np.float32)
    a = a.reshape(a.shape[-2:]) if a.ndim == 3 and a.shape[0] == 1 else a
    if a.ndim != 2:
        raise DetectorError(f"unsupported ONNX output shape {np.shape(out)}")
    if a.shape[1] not in (4 + n_classes, 5 + n_classes) and a.shape[0] in (
        4 + n_classes, 5 + n_classes):
        a = a.T
    if a.shape[1] == 5 + n_classes:
        probs = a[:, 5:] * a[:, 4:5]
    elif a.shape[1] == 4 + n_classes:
        probs = a[:, 4:]
    else:
        raise DetectorError(
            f"ONNX output {np.shape(out)} does not match {n_classes} class names "
            "(supported: YOLOv5 (1,N,5+nc), YOLOv8 (1,4+nc,N))")
    cid = probs.argmax(1)
    score = probs[np.arange(len(a)), cid]
    keep = score >= conf
    boxes = _cxcywh_to_xyxy(a[keep, :4])
    if len(boxes) and float(np.abs(boxes).max()) <= 2.0:  # normalised export
        boxes = boxes * size
    return boxes, score[keep], cid[keep]


def plan_windows(
    regions: np.ndarray, frame_wh: tuple[int, int], *, pad: float = 0.3,
    min_side: int = 160, max_runs: int = 4,
) -> np.ndarray:
    """Square crop windows (int xyxy) that together contain every region.

    Each region gets ``pad`` x its size of context on every side and at least
    ``min_side`` px (small objects are upscaled, but not beyond 2x on a 320 net).
    Overlapping windows are merged (squared around the union of their regions, not
    of the windows, so merging does not snowball), then the cheapest pairs are merged
    until at most ``max_runs`` remain. Windows may extend past the frame; the crop
    pads them grey rather than stretching the image.
    """
    r = np.asarray(regions, dtype=np.float64).reshape(-1, 4)
    covers = r[(r[:, 2] > r[:, 0]) & (r[:, 3] > r[:, 1])]
    if len(covers) == 0:
        return np.empty((0, 4), np.int64)
    wins = _squares(covers, frame_wh, pad, min_side)
    while len(wins) > 1:
        lo, hi = np.maximum(wins[:, None, :2], wins[None, :, :2]), np.minimum(
            wins[:, None, 2:], wins[None, :, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
        np.fill_diagonal(inter, 0)
        if inter.max() > 0:
            i, j = np.unravel_index(int(inter.argmax()), inter.shape)
        elif len(wins) > max(1, max_runs):
            union = np.concatenate([np.minimum(covers[:, None, :2], covers[None, :, :2]),
                                    np.maximum(covers[:, None, 2:], covers[None, :, 2:])], 2)
            cost = (union[..., 2:] - union[..., :2]).max(axis=2)
            np.fill_diagonal(cost, np.inf)
            i, j = np.unravel_index(int(cost.argmin()), cost.shape)
        else:
            break
        merged = np.concatenate([np.minimum(covers[i, :2], covers[j, :2]),
                                 np.maximum(covers[i, 2:], covers[j, 2:])])
        keep = np.ones(len(covers), bool)
        keep[[i, j]] = False
        covers = np.vstack([covers[keep], merged])
        wins = np.vstack([wins[keep], _squares(merged[None], frame_wh, pad, min_side)])
    return wins


def _squares(boxes: np.ndarray, frame_wh: tuple[int, int], pad: float,
             min_side: int) -> np.ndarray:
    wh = boxes[:, 2:] - boxes[:, :2]
    # Context beyond the frame's longer side is only grey padding: cap there.
    side = np.ceil(np.minimum(np.maximum(wh.max(1) * (1 + 2 * pad), min_side), max(frame_wh)))
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    out = np.empty((len(boxes), 4), np.int64)
    for k, lim in enumerate(frame_wh):
        # Slide the window inside the frame; centre it when it is wider than the frame.
        start = np.where(side >= lim, (lim - side) / 2,
                         np.clip(centre[:, k] - side / 2, 0, lim - side))
        out[:, k] = np.floor(start)
        out[:, k + 2] = out[:, k] + side
    return out

