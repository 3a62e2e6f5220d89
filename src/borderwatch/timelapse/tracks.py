"""A scan's ``tracks.jsonl`` as numpy arrays, for drawing tracks on time-lapse frames.

Each line of ``tracks.jsonl`` is one piece of a track, written when the piece filled up
or the track ended::

    {"track_id": 7, "label": "person", "final": false, "boxes": [[time_s, x0, y0, x1, y1], ...]}

A track may have several pieces (in order of writing); the last piece has
``"final": true``. A track id seen again after its final piece starts a new track (the
index keeps them apart; both report the same ``track_id``). The label is the latest
piece's (the detector's vote settles as the track goes on).

:class:`TrackIndex` holds every box of the scan in a few flat arrays (no Python object
per box): about 40 bytes a box, so a busy hour of a few hundred thousand boxes takes a
few MB. :meth:`TrackIndex.in_window` answers, for a source window ``[a, b)``, which
tracks were seen in it, each one's latest box there and its recent trail of ground
points (bottom centre of the box, as ``cross/`` uses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..coverage.report import ScanDirError

__all__ = ["TRAIL_POINTS", "ScanDirError", "TrackIndex", "TrackView"]

# Trails are thinned to at most this many points (evenly over the trail, newest kept).
TRAIL_POINTS = 32


@dataclass(frozen=True, eq=False)
class TrackView:
    """One track as seen in a source window."""

    track_id: int
    label: str
    time_s: float  # time of ``box``: the track's latest observation in the window
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in full-resolution pixels
    trail: np.ndarray  # (k, 2) float64 ground points, oldest first, ending at ``box``'s
    final: bool  # the scan wrote this track's final piece (it ended, or the source did)


@dataclass(eq=False)
class TrackIndex:
    """Every box of a scan, sorted by track then time, plus a global time order."""

    times: np.ndarray  # (N,) float64 seconds, by track then time
    boxes: np.ndarray  # (N, 4) float32 x0, y0, x1, y1
    track_of: np.ndarray  # (N,) int32: which track (0..T-1) each box belongs to
    track_ids: np.ndarray  # (T,) int64 track_id as written
    labels: list[str]  # (T,) latest label of each track
    finals: np.ndarray  # (T,) bool: a final piece was seen
    offsets: np.ndarray  # (T+1,) int64: track k's boxes are offsets[k]:offsets[k+1]
    notes: list[str] = field(default_factory=list)
    # Global time order: by_time[j] is the index (into the arrays above) of the j-th
    # box in time; sorted_times[j] its time.
    by_time: np.ndarray = field(init=False, repr=False)
    sorted_times: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.times, kind="stable")
        self.by_time = order.astype(np.int64)
        self.sorted_times = self.times[order]

    def __len__(self) -> int:
        """Number of tracks."""
        return len(self.track_ids)

    @property
    def n_boxes(self) -> int:
        return len(self.times)

    @property
    def time_range(self) -> tuple[float, float] | None:
        if not len(self.times):
            return None
        return float(self.sorted_times[0]), float(self.sorted_times[-1])

    # --- loading ----------------------------------------------------------------------

    @classmethod
    def empty(cls) -> TrackIndex:
        return cls._from_pieces([], [], [], [])

    @classmethod
    def load(cls, path: str | Path, *, missing_ok: bool = False) -> TrackIndex:
        """Read ``tracks.jsonl``. A malformed line is a :class:`ScanDirError` naming the
        file and line; a torn last line (a crash mid-write: no final newline, not JSON)
        is dropped with a note in ``notes``. ``missing_ok``: an absent file (a scan from
        before tracks were logged) gives an empty index with a note."""
        p = Path(path)
        if not p.exists() and missing_ok:
            idx = cls.empty()
            idx.notes.append(f"{p}: missing (a scan from before tracks were logged?); no tracks drawn")
            return idx
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScanDirError(f"{p}: missing (the scan logs every track there)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScanDirError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        return cls.from_lines(text.split("\n"), where=str(p), ends_with_newline=text.endswith("\n"))

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], *, where: str = "tracks") -> TrackIndex:
        """Build from already parsed records (as the scan writes them)."""
        return cls.from_lines([json.dumps(r) for r in records], where=where)

    @classmethod
    def from_lines(cls, lines: list[str], *, where: str = "tracks.jsonl", ends_with_newline: bool = True) -> TrackIndex:
        notes: list[str] = []
        last = max((i for i, r in enumerate(lines) if r.strip()), default=-1)
        piece_arrays: list[np.ndarray] = []
        piece_track: list[int] = []  # instance number per piece
        inst_ids: list[int] = []
        inst_labels: list[str] = []
        inst_final: list[bool] = []
        live: dict[int, int] = {}  # track_id -> instance number while not final
        for i, row in enumerate(lines):
            if not row.strip():
                continue
            n = i + 1
            w = f"{where}:{n}"
            try:
                obj = json.loads(row)
            except json.JSONDecodeError as exc:
                if i == last and not ends_with_newline:
                    notes.append(f"{w}: torn last line dropped (the scan was cut off mid-write)")
                    break
                raise ScanDirError(f"{w}: not valid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise ScanDirError(f"{w}: expected a JSON object, got {type(obj).__name__}")
            tid = obj.get("track_id")
            if isinstance(tid, bool) or not isinstance(tid, int):
                raise ScanDirError(f"{w}: 'track_id' must be an integer, got {tid!r}")
            label = obj.get("label", "unknown")
            if not isinstance(label, str):
                raise ScanDirError(f"{w}: 'label' must be a string, got {label!r}")
            final = obj.get("final", False)
            if not isinstance(final, bool):
                raise ScanDirError(f"{w}: 'final' must be true or false, got {final!r}")
            arr = _boxes(obj.get("boxes"), w)
            k = live.get(tid)
            if k is None:
                k = len(inst_ids)
                inst_ids.append(tid)
                inst_labels.append(label)
                inst_final.append(False)
                live[tid] = k
            inst_labels[k] = label
            if final:
                inst_final[k] = True
                del live[tid]
            if len(arr):
                piece_arrays.append(arr)
                piece_track.append(k)
        return cls._from_pieces(piece_arrays, piece_track, inst_ids, inst_labels, inst_final, notes)

    @classmethod
    def _from_pieces(
        cls,
        arrays: list[np.ndarray],
        piece_track: list[int],
        ids: list[int],
        labels: list[str],
        finals: list[bool] | None = None,
        notes: list[str] | None = None,
    ) -> TrackIndex:
        finals = finals if finals is not None else []
        if arrays:
            counts = np.array([len(a) for a in arrays], dtype=np.int64)
            data = np.concatenate(arrays)
            trk = np.repeat(np.asarray(piece_track, dtype=np.int32), counts)
        else:
            data = np.zeros((0, 5))
            trk = np.zeros(0, dtype=np.int32)
        # Sort by track, then time (stable: pieces are in order of writing).
        order = np.lexsort((data[:, 0], trk))
        data, trk = data[order], trk[order]
        T = len(ids)
        offsets = np.zeros(T + 1, dtype=np.int64)
        np.cumsum(np.bincount(trk, minlength=T), out=offsets[1:])
        return cls(
            times=np.ascontiguousarray(data[:, 0], dtype=np.float64),
            boxes=np.ascontiguousarray(data[:, 1:5], dtype=np.float32),
            track_of=trk,
            track_ids=np.asarray(ids, dtype=np.int64),
            labels=list(labels),
            finals=np.asarray(finals, dtype=bool),
            offsets=offsets,
            notes=list(notes or []),
        )

    # --- queries ----------------------------------------------------------------------

    def in_window(self, a: float, b: float, *, trail_s: float = 3.0, max_points: int = TRAIL_POINTS) -> list[TrackView]:
        """Tracks seen in the source window ``[a, b)``, by track id: each one's latest
        box in the window and its trail -- ground points over ``[b - trail_s, b)``,
        thinned to at most ``max_points`` (newest and oldest kept), oldest first."""
        st = self.sorted_times
        j0 = int(np.searchsorted(st, a, side="left"))
        j1 = int(np.searchsorted(st, b, side="left"))
        if j1 <= j0:
            return []
        # Indices in track-then-time order: grouped by track, the last of each group is
        # that track's latest box in the window.
        idx = np.sort(self.by_time[j0:j1])
        trk = self.track_of[idx]
        latest = idx[np.r_[trk[1:] != trk[:-1], True]]
        out: list[TrackView] = []
        for L in latest.tolist():
            k = int(self.track_of[L])
            s = int(self.offsets[k])
            t0 = int(s + np.searchsorted(self.times[s : L + 1], b - trail_s, side="left"))
            sel = np.arange(t0, L + 1)
            if len(sel) > max_points:
                sel = np.unique(np.linspace(t0, L, max(2, max_points)).round().astype(np.int64))
            bx = self.boxes[sel].astype(np.float64)
            trail = np.column_stack([(bx[:, 0] + bx[:, 2]) / 2.0, bx[:, 3]])
            x0, y0, x1, y1 = (float(v) for v in self.boxes[L])
            out.append(
                TrackView(
                    int(self.track_ids[k]),
                    self.labels[k],
                    float(self.times[L]),
                    (x0, y0, x1, y1),
                    trail,
                    bool(self.finals[k]),
                )
            )
        out.sort(key=lambda v: v.track_id)
        return out

    def at(
        self, a: float, b: float, *, scale: float = 1.0, trail_s: float = 3.0, max_points: int = TRAIL_POINTS
    ) -> tuple[list[tuple[int, float, float, float, float, str]], dict[int, list[tuple[float, float]]]]:
        """:meth:`in_window` in the overlay's plain form: boxes ``(track_id, x0, y0, x1, y1,
        label)`` and trails ``{track_id: [(x, y), ...]}``, coordinates times ``scale``
        (the output picture's size over the source's)."""
        boxes: list[tuple[int, float, float, float, float, str]] = []
        trails: dict[int, list[tuple[float, float]]] = {}
        for v in self.in_window(a, b, trail_s=trail_s, max_points=max_points):
            x0, y0, x1, y1 = (c * scale for c in v.box)
            boxes.append((v.track_id, x0, y0, x1, y1, v.label))
            trails[v.track_id] = [(float(x), float(y)) for x, y in (v.trail * scale).tolist()]
        return boxes, trails


def _boxes(v: Any, where: str) -> np.ndarray:
    if not isinstance(v, list):
        raise ScanDirError(f"{where}: 'boxes' must be a list of [time_s, x0, y0, x1, y1], got {type(v).__name__}")
    if not v:
        return np.zeros((0, 5))
    try:
        arr = np.array(v)
    except ValueError:
        arr = np.array([], dtype=object)  # ragged
    if arr.ndim != 2 or arr.shape[1] != 5 or arr.dtype.kind not in "iuf":
        for k, row in enumerate(v):
            if (
                not isinstance(row, list)
                or len(row) != 5
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row)
            ):
                raise ScanDirError(f"{where}: boxes[{k}] must be [time_s, x0, y0, x1, y1] (numbers), got {row!r}")
        raise ScanDirError(f"{where}: 'boxes' must be a list of [time_s, x0, y0, x1, y1]")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr).all(axis=1) | (arr[:, 3] < arr[:, 1]) | (arr[:, 4] < arr[:, 2])
    if bad.any():
        k = int(np.argmax(bad))
        raise ScanDirError(f"{where}: boxes[{k}] is not a finite box with x0 <= x1, y0 <= y1: {v[k]!r}")
    return arr
