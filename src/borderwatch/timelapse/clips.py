"""Per-crossing evidence: the original GOPs (no re-encoding), an annotated clip, a sheet.

* :func:`cut_gops` copies the coded packets of every GOP overlapping a span into an MP4,
  byte for byte, and hashes them with the ledger's :class:`~borderwatch.ledger.GopHasher`
  on the way: the hashes are those the scan's ledger recorded for the same GOPs, so
  anyone can check the clip's pictures against a sealed ledger
  (``borderwatch ledger gops CLIP``). Timestamps are shifted so the clip starts at 0
  (``pts_offset`` says by how much, in the source's time base): the pictures and their
  spacing are the source's.
* :func:`annotated_clip` decodes the same span, draws the overlays (real time) and
  encodes H.264; every frame keeps its source timing relative to the first.
* :func:`contact_sheet` puts one captioned thumbnail per crossing on one PNG.
* :func:`export_crossings` does all three for every crossing of a scan folder.

Timeline seconds are ``offset_s + (pts - origin) * time_base`` with ``origin`` the
stream's start time (else its first pts), as in ``io/video.py`` and ``ledger/gop.py``.
See docs/timelapse.md ("Crossing clips and overlays").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from ..coverage.report import read_jsonl
from ..errors import BorderwatchError, OutputError, SourceNotFound, SourceUnreadable
from ..geometry import Polyline
from ..ledger.gop import GopHasher, GopRecord, file_sha256, iter_packets
from .overlay import Box, Overlay, TrackLookup, Trails, direction_of, fmt_source_time, fmt_wallclock

_AV_ERRORS = (av.FFmpegError, ValueError, MemoryError, OSError)
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
# A crossing's marker stays on screen this long after its time in annotated clips.
HOLD_S = 2.0
_PAD = 8  # contact sheet margins and gaps (px)


class ClipError(BorderwatchError, ValueError):
    """A span cannot be cut or rendered from the source as asked."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CutResult:
    """What :func:`cut_gops` wrote: the clip and the GOPs in it."""

    path: Path
    source: Path
    start_s: float  # the span asked for (timeline seconds)
    end_s: float
    clip_start_s: float  # timeline seconds of the clip's time 0 (its first GOP's start)
    clip_end_s: float  # end of its last GOP
    pts_offset: int  # source pts = clip pts (in ``time_base``) + pts_offset
    time_base: Fraction  # the source stream's time base
    gops: tuple[GopRecord, ...]
    packets: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "source": str(self.source),
            "span": {"start_s": self.start_s, "end_s": self.end_s},
            "clip_start_s": self.clip_start_s,
            "clip_end_s": self.clip_end_s,
            "pts_offset": self.pts_offset,
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "packets": self.packets,
            "gops": [g.to_data() for g in self.gops],
        }


@dataclass
class AnnotatedResult:
    """What :func:`annotated_clip` wrote."""

    path: Path
    frames: int
    first_s: float | None  # timeline seconds of the first and last frame written
    last_s: float | None
    pts_offset: int  # source pts = clip pts (in ``time_base``) + pts_offset
    time_base: Fraction
    thumbnail: np.ndarray | None = field(default=None, repr=False)  # annotated frame at the crossing

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "frames": self.frames,
            "first_s": self.first_s,
            "last_s": self.last_s,
            "pts_offset": self.pts_offset,
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
        }


# --------------------------------------------------------------------------- helpers


def _open(path: Path) -> tuple[Any, Any]:
    from ..io.probe import open_container, video_stream

    container = open_container(path)
    try:
        return container, video_stream(container, path)
    except BaseException:
        container.close()
        raise


def _muxer(out: Path) -> str:
    fmt = _MUXERS.get(out.suffix.lower())
    if fmt is None:
        raise ClipError(f"cannot tell the clip format of {out.name!r}: name it .mp4, .mov, .mkv or .avi")
    return fmt


def _open_output(tmp: Path, fmt: str) -> Any:
    options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    try:
        return av.open(str(tmp), mode="w", format=fmt, options=options)
    except (OSError, av.FFmpegError) as exc:
        raise OutputError(f"cannot write {tmp.with_suffix('')}: {exc}") from None


def _iso_utc(wall: datetime) -> str:
    w = wall if wall.tzinfo else wall.replace(tzinfo=UTC)
    return w.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _part(out: Path) -> Path:
    return out.with_name(out.name + ".part")


def _finish(tmp: Path, out: Path) -> None:
    try:
        tmp.replace(out)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None


@dataclass
class _Span:
    start_s: float
    end_s: float
    out: Path
    container: Any = None
    stream: Any = None
    pts_offset: int = 0
    gops: list[GopRecord] = field(default_factory=list)
    packets: int = 0
    done: bool = False


def _cut_many(
    source_file: Path,
    spans: Sequence[tuple[float, float, Path]],
    *,
    offset_s: float = 0.0,
    source_index: int | None = None,
    wallclock_start: datetime | None = None,
) -> list[CutResult]:
    """Cut several spans of one file in a single demux pass (GOP indices count from the
    file's start, as the ledger's do, so the file is always read from its beginning)."""
    source_file = Path(source_file)
    todo = [_Span(float(s), float(e), Path(o)) for s, e, o in spans]
    for sp in todo:
        if not sp.end_s >= sp.start_s:
            raise ClipError(f"span {sp.start_s}..{sp.end_s} ends before it starts")
        _muxer(sp.out)
    container, stream = _open(source_file)
    tb = Fraction(stream.time_base)
    hasher = GopHasher.from_stream(stream, offset_s=offset_s, source=source_index)
    name = source_file.name

    def route(rec: GopRecord, packets: list[tuple[Any, int | None, int | None]]) -> bool:
        """Write one finished GOP (packets with their original pts, dts) to every span it
        overlaps; False once every span is done."""
        if rec.start_s is None or rec.end_s is None:
            raise ClipError(f"{source_file}: GOP {rec.index} has no timestamps; cannot place it on the timeline")
        for sp in todo:
            if sp.done:
                continue
            if rec.start_s > sp.end_s:
                _close(sp)
                continue
            if rec.end_s <= sp.start_s:
                continue
            if sp.container is None:
                known = [v for _, pt, dt in packets for v in (pt if pt is not None else dt,) if v is not None]
                if not known:
                    raise ClipError(f"{source_file}: GOP {rec.index} has no timestamps")
                sp.pts_offset = min(known)
                sp.container = _open_output(_part(sp.out), _muxer(sp.out))
                try:
                    sp.stream = sp.container.add_stream_from_template(stream)
                    wall = (
                        f", wall-clock {_iso_utc(wallclock_start + timedelta(seconds=rec.start_s))}"
                        if wallclock_start
                        else ""
                    )
                    sp.container.metadata["comment"] = (
                        f"borderwatch: GOPs of {name} copied without re-encoding; clip time 0 = timeline "
                        f"{rec.start_s:.6f} s{wall}; source pts = clip pts + {sp.pts_offset} "
                        f"(time base {tb.numerator}/{tb.denominator})"
                    )
                    if wallclock_start is not None:
                        sp.container.metadata["creation_time"] = _iso_utc(
                            wallclock_start + timedelta(seconds=rec.start_s)
                        )
                except _AV_ERRORS as exc:
                    raise OutputError(f"cannot write {sp.out}: {exc}") from None
            for p, pts0, dts0 in packets:
                # Muxing rescales a packet's timestamps in place: set them afresh for
                # every clip the GOP goes to.
                p.time_base = tb
                p.pts = None if pts0 is None else pts0 - sp.pts_offset
                p.dts = None if dts0 is None else dts0 - sp.pts_offset
                p.stream = sp.stream
                try:
                    sp.container.mux(p)
                except _AV_ERRORS as exc:
                    raise OutputError(f"writing {sp.out} failed: {exc}") from None
                sp.packets += 1
            sp.gops.append(rec)
        return not all(sp.done for sp in todo)

    try:
        buf: list[tuple[Any, int | None, int | None]] = []  # the current GOP's packets
        going = True
        for packet in iter_packets(container, stream):
            for rec in hasher.feed(packet):  # a GOP ends where this packet starts the next
                going = route(rec, buf)
                buf = []
            if not going:
                break
            buf.append((packet, packet.pts, packet.dts))
        if going:
            for rec in hasher.finish():
                route(rec, buf)
        for sp in todo:
            _close(sp)
    except BaseException:
        for sp in todo:
            if sp.container is not None and not sp.done:
                try:
                    sp.container.close()
                except _AV_ERRORS:
                    pass
                _part(sp.out).unlink(missing_ok=True)
        raise
    finally:
        container.close()
    out = []
    for sp in todo:
        if not sp.gops:
            out.append(CutResult(sp.out, source_file, sp.start_s, sp.end_s, math.nan, math.nan, 0, tb, (), 0))
            continue
        first, last = sp.gops[0], sp.gops[-1]
        assert first.start_s is not None and last.end_s is not None
        out.append(
            CutResult(
                path=sp.out,
                source=source_file,
                start_s=sp.start_s,
                end_s=sp.end_s,
                clip_start_s=first.start_s,
                clip_end_s=last.end_s,
                pts_offset=sp.pts_offset,
                time_base=tb,
                gops=tuple(sp.gops),
                packets=sp.packets,
            )
        )
    return out


def _close(sp: _Span) -> None:
    if sp.done:
        return
    sp.done = True
    if sp.container is None:
        return
    try:
        sp.container.close()  # writes the trailer; with faststart, moves the index to the front
    except _AV_ERRORS as exc:
        _part(sp.out).unlink(missing_ok=True)
        raise OutputError(f"writing {sp.out} failed: {exc}") from None
    _finish(_part(sp.out), sp.out)


def cut_gops(
    source_file: Path,
    start_s: float,
    end_s: float,
    out: Path,
    *,
    offset_s: float = 0.0,
    source_index: int | None = None,
    wallclock_start: datetime | None = None,
) -> CutResult:
    """Copy every GOP of ``source_file`` overlapping ``[start_s, end_s]`` (timeline
    seconds; ``offset_s`` is the file's start on a segmented timeline) into ``out``
    without re-encoding, and return the GOPs cut with their hashes.

    A GOP ``[g.start_s, g.end_s)`` overlaps when ``g.start_s <= end_s`` and
    ``g.end_s > start_s``. GOP indices count from the file's start, like the ledger's, so
    the file is demuxed from its beginning (no decoding: about 1 GB/s of coded data).
    ``source_index`` is put in the records (the ledger's ``source``); ``wallclock_start``
    (wall-clock of timeline 0) sets the clip's ``creation_time``. Raises
    :class:`ClipError` when no GOP overlaps the span.
    """
    out = Path(out)
    res = _cut_many(
        Path(source_file), [(start_s, end_s, out)], offset_s=offset_s, source_index=source_index,
        wallclock_start=wallclock_start,
    )[0]  # fmt: skip
    if not res.gops:
        raise ClipError(f"{source_file}: no GOP overlaps {fmt_source_time(start_s)}-{fmt_source_time(end_s)}")
    return res


# --------------------------------------------------------------------------- decoding


@dataclass
class _Decoded:
    frame: Any
    pts: int
    t: float  # timeline seconds
    time_base: Fraction
    rate: Fraction | None  # the stream's nominal frame rate (a hint for the encoder)


def _decode_span(path: Path, start_s: float, end_s: float, offset_s: float) -> Iterator[_Decoded]:
    """Every decodable frame with ``start_s <= t < end_s``, in order. Seeks to the
    keyframe before ``start_s`` (again 10 s earlier, then from the start, if a seek lands
    past it); the time origin is the stream's start time, else its first frame's pts."""
    from ..io.probe import nominal_fps

    rel = start_s - offset_s
    attempts: list[float | None] = [rel, rel - 10.0, None] if rel > 0.5 else [None]
    for seek_to in attempts:
        if seek_to is not None and seek_to <= 0.5:
            seek_to = None
        container, stream = _open(path)
        try:
            stream.codec_context.thread_type = "AUTO"
            tb = Fraction(stream.time_base)
            rate = nominal_fps(stream)
            use_dts = "avi" in (container.format.name or "").split(",")
            origin: int | None = stream.start_time
            if seek_to is not None:
                if origin is None:
                    continue
                try:
                    container.seek(origin + math.floor(seek_to / tb), stream=stream, backward=True)
                except _AV_ERRORS:
                    continue
            first = True
            for frame in _frames(container, stream):
                pts = frame.dts if use_dts and frame.dts is not None else frame.pts
                if pts is None:
                    continue
                if origin is None:
                    origin = pts
                t = offset_s + ((pts - origin) * tb.numerator) / tb.denominator
                if first:
                    first = False
                    if seek_to is not None and t > start_s + 1e-6:
                        break  # the seek landed past the span's start: try earlier
                if t < start_s:
                    continue
                if t >= end_s:
                    return
                yield _Decoded(frame, pts, t, tb, rate)
            else:
                return
        finally:
            container.close()


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    cc = stream.codec_context
    for packet in iter_packets(container, stream):
        try:
            yield from cc.decode(packet)
        except _AV_ERRORS:
            continue  # damaged packets: the clip shows what decodes, as the scan did
    try:
        yield from cc.decode(None)
    except _AV_ERRORS:
        return


def _even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    if h % 2 or w % 2:
        img = cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return img


def annotated_clip(
    source_file: Path,
    start_s: float,
    end_s: float,
    out: Path,
    *,
    overlay: Overlay,
    track_index: TrackLookup | None,
    crossing: dict[str, Any] | None,
    offset_s: float = 0.0,
    crf: int = 20,
    crossings: Sequence[dict[str, Any]] | None = None,
    hold_s: float = HOLD_S,
    preset: str = "veryfast",
    wallclock_start: datetime | None = None,
) -> AnnotatedResult:
    """Decode ``[start_s, end_s)`` of ``source_file``, draw the overlays (real time) and
    encode H.264 yuv420p (faststart). Output pts are the source pts less the first
    frame's, in the source's time base, so every frame keeps its source timing.

    ``crossings`` (default ``[crossing]``) are marked from their time for ``hold_s``;
    boxes and trails come from ``track_index.at(t, t + frame duration)``. The result's
    ``thumbnail`` is the annotated picture of the first frame at or after the crossing.
    """
    source_file, out = Path(source_file), Path(out)
    fmt = _muxer(out)
    if not 0 <= crf <= 51:
        raise ClipError(f"crf must be 0..51, got {crf}")
    marks = list(crossings) if crossings is not None else ([crossing] if crossing else [])
    marks = [c for c in marks if isinstance(c.get("time_s"), (int, float))]
    cross_t = float(crossing["time_s"]) if crossing and isinstance(crossing.get("time_s"), (int, float)) else None
    tmp = _part(out)
    octr: Any = None
    ostream: Any = None
    frames = 0
    first_pts: int | None = None
    last_out = -1
    first_s: float | None = None
    last_s: float | None = None
    tb = Fraction(1, 1)
    thumb: np.ndarray | None = None
    pending: tuple[Any, int, float] | None = None
    step_s = 0.04

    def encode(item: tuple[Any, int, float], next_t: float | None) -> None:
        nonlocal frames, last_out, last_s, thumb, step_s
        frame, pts, t = item
        assert first_pts is not None
        opts = pts - first_pts
        if opts <= last_out:
            return  # a late or repeated frame: pts must increase
        if next_t is not None and next_t > t:
            step_s = next_t - t
        img = np.ascontiguousarray(frame.to_ndarray(format="bgr24"))  # rows may be padded
        boxes: list[Box]
        trails: Trails
        boxes, trails = ([], {}) if track_index is None else track_index.at(t - 1e-4, t + step_s - 1e-4)
        now = [c for c in marks if float(c["time_s"]) - 1e-6 <= t <= float(c["time_s"]) + hold_s]
        overlay.draw(img, t_s=t, window=(t, t + step_s), speed=1.0, real_time=True, boxes=boxes, trails=trails,
                     crossings_now=now)  # fmt: skip
        if thumb is None and cross_t is not None and t >= cross_t - 1e-6:
            thumb = img.copy()
        yuv = np.asarray(cv2.cvtColor(_even(img), cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        vf.pts, vf.time_base = opts, tb
        try:
            octr.mux(ostream.encode(vf))
        except _AV_ERRORS as exc:
            raise OutputError(f"encoding {out} failed: {exc}") from None
        frames += 1
        last_out, last_s = opts, t

    try:
        for d in _decode_span(source_file, start_s, end_s, offset_s):
            frame, pts, t = d.frame, d.pts, d.t
            if octr is None:
                tb = d.time_base
                first_pts, first_s = pts, t
                if d.rate:
                    step_s = float(1 / d.rate)  # until the next frame's time is known
                if frame.width != overlay.width or frame.height != overlay.height:
                    raise ClipError(
                        f"{source_file}: frames are {frame.width}x{frame.height}, the overlay is for "
                        f"{overlay.width}x{overlay.height}"
                    )
                octr = _open_output(tmp, fmt)
                if wallclock_start is not None:
                    octr.metadata["creation_time"] = _iso_utc(wallclock_start + timedelta(seconds=t))
                octr.metadata["comment"] = (
                    f"borderwatch: annotated (re-encoded) span of {source_file.name}; clip time 0 = timeline "
                    f"{t:.6f} s; source pts = clip pts + {pts} (time base {tb.numerator}/{tb.denominator})"
                )
                ostream = octr.add_stream("libx264", rate=d.rate or Fraction(25))
                ostream.width = frame.width + frame.width % 2
                ostream.height = frame.height + frame.height % 2
                ostream.pix_fmt = "yuv420p"
                ostream.time_base = tb
                ostream.codec_context.time_base = tb
                ostream.options = {"crf": str(crf), "preset": preset}
            if pending is not None:
                encode(pending, t)
            pending = (frame, pts, t)
        if pending is not None:
            encode(pending, None)
        if octr is None:
            raise ClipError(f"{source_file}: no frame decodes in {fmt_source_time(start_s)}-{fmt_source_time(end_s)}")
        try:
            octr.mux(ostream.encode(None))
            octr.close()
        except _AV_ERRORS as exc:
            raise OutputError(f"encoding {out} failed: {exc}") from None
        octr = None
        _finish(tmp, out)
    except BaseException:
        if octr is not None:
            try:
                octr.close()
            except _AV_ERRORS:
                pass
        tmp.unlink(missing_ok=True)
        raise
    return AnnotatedResult(out, frames, first_s, last_s, first_pts or 0, tb, thumb)


# --------------------------------------------------------------------------- contact sheet


def contact_sheet(
    items: Sequence[tuple[np.ndarray, str]],
    out_png: Path,
    *,
    columns: int = 4,
    thumb_width: int = 320,
    title: str = "Crossings",
) -> Path:
    """A grid of captioned thumbnails (caption lines split on ``\\n``) under a title.

    Cells are ``thumb_width`` wide and as tall as the first image's aspect gives (other
    aspects are letterboxed). The sheet is ``min(columns, n) * (thumb_width + 8) + 8``
    pixels wide (one column for no items, which says so).
    """
    out_png = Path(out_png)
    columns = max(1, int(columns))
    tw = max(32, int(thumb_width))
    n = len(items)
    cols = min(columns, n) if n else 1
    rows = math.ceil(n / cols) if n else 0
    if n:
        h0, w0 = items[0][0].shape[:2]
        th = max(1, round(tw * h0 / max(1, w0)))
    else:
        th = 0
    scale = max(0.35, tw / 320 * 0.45)
    (_, lh), lb = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    line_h = lh + lb + 4
    cap_lines = max((len(c.split("\n")) for _, c in items), default=1)
    cap_h = cap_lines * line_h + 4
    tscale = scale * 1.5
    (_, tth), tb = cv2.getTextSize(title or "Ag", cv2.FONT_HERSHEY_SIMPLEX, tscale, 2)
    title_h = tth + tb + 2 * _PAD
    width = cols * (tw + _PAD) + _PAD
    height = title_h + (rows * (th + cap_h + _PAD) if n else line_h + _PAD) + _PAD
    sheet = np.full((height, width, 3), 32, np.uint8)
    cv2.putText(sheet, title, (_PAD, _PAD + tth), cv2.FONT_HERSHEY_SIMPLEX, tscale, (255, 255, 255), 2, cv2.LINE_AA)
    if not n:
        cv2.putText(sheet, "no crossings", (_PAD, title_h + lh), cv2.FONT_HERSHEY_SIMPLEX, scale, (200, 200, 200), 1,
                    cv2.LINE_AA)  # fmt: skip
    for k, (img, caption) in enumerate(items):
        r, c = divmod(k, cols)
        x0 = _PAD + c * (tw + _PAD)
        y0 = title_h + r * (th + cap_h + _PAD)
        cell = sheet[y0 : y0 + th, x0 : x0 + tw]
        cell[:] = 0
        if img is not None and img.size:
            src = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            ih, iw = src.shape[:2]
            f = min(tw / iw, th / ih)
            nw, nh = max(1, round(iw * f)), max(1, round(ih * f))
            small = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
            ox, oy = (tw - nw) // 2, (th - nh) // 2
            cell[oy : oy + nh, ox : ox + nw] = small[:, :, :3]
        for i, text in enumerate(caption.split("\n")):
            y = y0 + th + (i + 1) * line_h
            cv2.putText(sheet, text, (x0 + 2, y - lb), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1,
                        cv2.LINE_AA)  # fmt: skip
    try:
        ok = cv2.imwrite(str(out_png), sheet)
    except cv2.error as exc:
        raise OutputError(f"cannot write {out_png}: {exc}") from None
    if not ok:
        raise OutputError(f"cannot write {out_png}")
    return out_png


# --------------------------------------------------------------------------- a scan folder


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    # A torn last line (the scan stopped mid-write) is dropped.
    return read_jsonl(path, tolerate_torn_tail=True)[0]


def load_track_index(scan_dir: Path) -> TrackLookup:
    """The scan's :class:`~borderwatch.timelapse.tracks.TrackIndex` (empty, with a note,
    for a scan from before ``tracks.jsonl`` existed)."""
    from .tracks import TrackIndex

    index: TrackLookup = TrackIndex.load(Path(scan_dir) / "tracks.jsonl", missing_ok=True)
    return index


def _copy_pictures(pictures: list[Any], dest: Path) -> list[dict[str, Any]]:
    """Copy original pictures into ``dest`` and check each against its ledger hash."""
    import hashlib
    import shutil

    out: list[dict[str, Any]] = []
    if not pictures:
        return out
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for pic in pictures:
            target = dest / pic.name
            shutil.copyfile(pic.path, target)
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            verdict = "absent" if pic.sha256 is None else ("match" if digest == pic.sha256 else "differs")
            out.append({"file": f"{dest.name}/{pic.name}", "offset_s": pic.offset_s, "sha256": digest, "ledger": verdict})
    except OSError as exc:
        raise OutputError(f"cannot copy pictures into {dest}: {exc.strerror or exc}") from None
    return out


@dataclass
class _Source:
    index: int
    path: Path
    offset_s: float
    sha256: str | None  # as the ledger recorded it
    name: str


_FILEINFO_PATH = re.compile(r"path=(?:Posix|Windows)?Path\('((?:[^'\\]|\\.)*)'\)")


def _summary_files(summary: dict[str, Any]) -> list[str]:
    """``source.files`` of summary.json: paths, or FileInfo reprs holding one."""
    out = []
    files = summary.get("source", {}).get("files") if isinstance(summary.get("source"), dict) else None
    for f in files or []:
        if isinstance(f, dict) and isinstance(f.get("path"), str):
            out.append(f["path"])
        elif isinstance(f, str):
            m = _FILEINFO_PATH.search(f)
            out.append(m.group(1) if m else f)
    return out


def _resolve(p: Path, scan_dir: Path) -> Path | None:
    for cand in (p, scan_dir / p, scan_dir.parent / p):
        if cand.exists():
            return cand
    return None


def _sources(
    scan_dir: Path, summary: dict[str, Any], ledger: list[dict[str, Any]], given: Path | None
) -> list[_Source]:
    src = summary.get("source") if isinstance(summary.get("source"), dict) else {}
    assert isinstance(src, dict)
    recs = sorted((r for r in ledger if r.get("kind") == "source"), key=lambda r: int(r["data"].get("index", 0)))
    declared = given if given is not None else (Path(src["path"]) if isinstance(src.get("path"), str) else None)
    if declared is None:
        raise SourceNotFound(f"{scan_dir}/summary.json names no source; pass the source")
    root = _resolve(declared, scan_dir)
    if root is None:
        how = "as given" if given is not None else "named in summary.json (source.path)"
        raise SourceNotFound(f"source {declared} {how} not found; pass the source file or folder")
    if root.is_file():
        if len(recs) > 1:  # one file of a segmented scan: place it by name
            for r in recs:
                d = r["data"]
                if d.get("name") == root.name:
                    return [_Source(int(d["index"]), root, float(d.get("offset_s", 0.0)), d.get("sha256"), root.name)]
        d = recs[0]["data"] if recs else {}
        return [_Source(int(d.get("index", 0)), root, float(d.get("offset_s", 0.0)), d.get("sha256"), root.name)]
    if not root.is_dir():
        raise SourceUnreadable(f"source {root} is neither a file nor a folder")
    out = []
    if recs:
        for r in recs:
            d = r["data"]
            name = d.get("name") or Path(str(d.get("path", ""))).name
            out.append(_Source(int(d["index"]), root / name, float(d.get("offset_s", 0.0)), d.get("sha256"), name))
        return out
    files = _summary_files(summary)
    if len(files) == 1:
        name = Path(files[0]).name
        return [_Source(0, root / name, 0.0, None, name)]
    raise SourceUnreadable(
        f"{scan_dir}: the scan has no ledger 'source' records, so the segments of {root} cannot be placed on its "
        "timeline; pass one segment file as the source"
    )


def _lines(summary: dict[str, Any]) -> list[Polyline]:
    out = []
    for ln in summary.get("lines") or []:
        try:
            sides = tuple(ln.get("sides") or ("A", "B"))
            out.append(Polyline(np.asarray(ln["points_px"], dtype=np.float64), str(ln.get("name", "border")),
                                (str(sides[0]), str(sides[1]))))  # fmt: skip
        except (KeyError, TypeError, ValueError, IndexError):
            continue
    return out


def _caption(c: dict[str, Any], wall: datetime | None) -> str:
    label = c.get("label") or "unknown"
    first = f"#{c.get('id')} {c.get('line', '')} {direction_of(c)} {label}"
    t = c.get("time_s")
    second = fmt_source_time(float(t)) if isinstance(t, (int, float)) else "?"
    if wall is not None and isinstance(t, (int, float)):
        second += "  " + fmt_wallclock(wall + timedelta(seconds=float(t)), digits=2)
    elif isinstance(c.get("wallclock"), str):
        second += "  " + str(c["wallclock"])
    return first + "\n" + second


def export_crossings(
    scan_dir: Path,
    out_dir: Path,
    *,
    pre_s: float = 3.0,
    post_s: float = 3.0,
    source: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    track_index: TrackLookup | None = None,
    crf: int = 20,
    columns: int = 4,
    thumb_width: int = 320,
    annotated_from: Callable[[dict[str, Any], Path], dict[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """For every crossing of a scan: ``out_dir/crossing_NNNN.mp4`` (its original GOPs),
    ``crossing_NNNN_annotated.mp4`` and, for all, ``crossings.png``; also
    ``manifest.json``. Returns one manifest entry per crossing.

    The source is ``source`` or ``summary.json``'s ``source.path`` (a file, or a folder
    of segments placed by the ledger's ``source`` records). A source whose SHA-256
    differs from the ledger's is still cut, with a warning in each entry; each cut GOP
    is compared with the ledger's hash of the same GOP. ``progress(done, total)`` after
    each crossing.
    """
    from ..coverage.report import load_account
    from .overlay import spans_from_account

    scan_dir, out_dir = Path(scan_dir), Path(out_dir)
    account = load_account(scan_dir)  # ScanDirError for a missing or malformed folder
    summary = json.loads((scan_dir / "summary.json").read_text(encoding="utf-8"))
    crossings = [obj for _, obj in _read_jsonl(scan_dir / "crossings.jsonl")]
    crossings.sort(key=lambda c: (float(c.get("time_s", 0.0)), str(c.get("id"))))
    ledger_path = scan_dir / "ledger.jsonl"
    ledger = [obj for _, obj in _read_jsonl(ledger_path)] if ledger_path.exists() else []
    ledger_gops = {
        (int(r["data"].get("source", 0) or 0), int(r["data"]["index"])): r["data"]
        for r in ledger
        if r.get("kind") == "gop" and "index" in r.get("data", {})
    }
    sources = _sources(scan_dir, summary, ledger, Path(source) if source is not None else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    general: list[str] = []
    if not ledger:
        general.append("the scan has no ledger.jsonl: GOP hashes cannot be checked against it")
    wall0 = account.wallclock_start
    if wall0 is None and account.anchors:
        wall0 = account.wallclock_at(0.0)

    def source_for(t: float) -> _Source:
        cands = [s for s in sources if s.offset_s <= t + 1e-9]
        return max(cands, key=lambda s: s.offset_s) if cands else sources[0]

    duration = account.end_s if account.end_s is not None else float(summary.get("duration_s") or 0.0)
    # Files: check each used one against the ledger's SHA-256 once.
    plan: list[tuple[dict[str, Any], _Source, float, float, str]] = []
    for c in crossings:
        t = float(c["time_s"])
        s = source_for(t)
        cid = c.get("id")
        stem = (
            f"crossing_{int(str(cid)):04d}" if str(cid).isdigit() else "crossing_" + re.sub(r"[^\w.-]", "_", str(cid))
        )
        end = t + post_s
        if duration > t:
            end = min(end, duration)  # the scanned timeline's end
        plan.append((c, s, max(0.0, t - pre_s), end, stem))
    sha_note: dict[int, str | None] = {}
    for s in {p[1].index: p[1] for p in plan}.values():
        if not s.path.exists():
            raise SourceNotFound(f"source file {s.path} not found (segment {s.index} of the scan)")
        if s.sha256 is None:
            sha_note[s.index] = "the ledger holds no SHA-256 for this file: it cannot be checked"
            continue
        now = file_sha256(s.path)
        sha_note[s.index] = (
            None if now == s.sha256 else
            f"{s.path.name} differs from the file scanned (SHA-256 {now[:12]}... vs the ledger's "
            f"{s.sha256[:12]}...); clips are cut from the file as it is now"
        )  # fmt: skip

    # Original GOPs: one demux pass per file for all its crossings.
    cuts: dict[str, CutResult | str] = {}
    pictures = isinstance(summary.get("source"), dict) and summary["source"].get("kind") == "images"
    for s in {p[1].index: p[1] for p in plan}.values() if not pictures else []:
        mine = [p for p in plan if p[1].index == s.index]
        # MP4 holds H.264/H.265 and the like; an AVI's codecs (MS-MPEG4, say) go back
        # into AVI; anything else into Matroska, which holds most codecs as they are.
        suffix = s.path.suffix.lower()
        ext = ".mp4" if suffix in (".mp4", ".mov", ".m4v") else (".avi" if suffix == ".avi" else ".mkv")
        try:
            results = _cut_many(
                s.path, [(a, b, out_dir / f"{stem}{ext}") for _, _, a, b, stem in mine],
                offset_s=s.offset_s, source_index=s.index, wallclock_start=wall0,
            )  # fmt: skip
        except (ClipError, SourceUnreadable, OutputError) as exc:
            # One source whose packets cannot be copied must not lose the other files'
            # clips, the annotated clips or the contact sheet: the manifest says why.
            for p in mine:
                cuts[p[4]] = str(exc)
            continue
        for p, r in zip(mine, results, strict=True):
            cuts[p[4]] = r if r.gops else f"no GOP of {s.path.name} overlaps the span"

    tracks = track_index if track_index is not None else load_track_index(scan_dir)
    lines = _lines(summary)
    width, height = summary.get("source", {}).get("width"), summary.get("source", {}).get("height")
    overlay: Overlay | None = None
    entries: list[dict[str, Any]] = []
    thumbs: list[tuple[np.ndarray, str]] = []
    for k, (c, s, a, b, stem) in enumerate(plan):
        warnings = [w for w in (sha_note.get(s.index),) if w]
        entry: dict[str, Any] = {
            "crossing": c.get("id"),
            "line": c.get("line"),
            "direction": direction_of(c),
            "label": c.get("label"),
            "time_s": c.get("time_s"),
            "wallclock": c.get("wallclock"),
            "span": {"start_s": a, "end_s": b},
            "source": {
                "index": s.index,
                "path": str(s.path),
                "offset_s": s.offset_s,
                "ledger_sha256": s.sha256,
                "unchanged": None if s.sha256 is None else sha_note.get(s.index) is None,
            },
        }
        cut = cuts.get(stem)
        if pictures:
            # A trail camera's originals are its pictures: copy those of the span, bit
            # for bit, and check them against the ledger's SHA-256.
            entry["originals"] = _copy_pictures([x for x in sources if a - 1e-6 <= x.offset_s <= b + 1e-6], out_dir / stem)
            if any(o["ledger"] == "differs" for o in entry["originals"]):
                warnings.append("some pictures differ from the ledger's hashes: these are not the pictures scanned")
            cut = "the source is a folder of pictures: the originals are copied (see 'originals'); there are no GOPs"
        if isinstance(cut, CutResult):
            gops = []
            for g in cut.gops:
                led = ledger_gops.get((s.index, g.index))
                verdict = "absent" if led is None else ("match" if led.get("sha256") == g.sha256 else "differs")
                gops.append({"index": g.index, "start_s": g.start_s, "end_s": g.end_s, "frames": g.frames,
                             "sha256": g.sha256, "ledger": verdict})  # fmt: skip
            if any(g["ledger"] == "differs" for g in gops):
                warnings.append("some GOPs differ from the ledger's hashes: these are not the pictures scanned")
            if b > s.offset_s and cut.clip_end_s < b - 1e-6 and len(sources) > 1:
                warnings.append("the span runs past the end of its segment: the clip holds this segment's part")
            entry["clip"] = {**cut.to_dict(), "gops": gops, "ledger_match": all(g["ledger"] == "match" for g in gops)
                             if ledger_gops else None}  # fmt: skip
        else:
            entry["clip"] = None
            warnings.append(f"original GOPs not cut: {cut}")
        # Annotated clip.
        thumb: np.ndarray | None = None
        if annotated_from is not None:
            # Cut from a time-lapse's real-time span (already annotated, no re-encoding).
            entry["annotated"] = annotated_from(c, out_dir / f"{stem}_annotated.mp4")
            if entry["annotated"] is None:
                warnings.append("annotated clip not written: the time-lapse has no real-time span for it")
        else:
            try:
                if overlay is None:
                    if not isinstance(width, int) or not isinstance(height, int):
                        probe, vs = _open(s.path)
                        width, height = vs.width, vs.height
                        probe.close()
                    overlay = Overlay(width, height, lines, spans_from_account(account), duration, crossings, wall0)
                near = [x for x in crossings if a - HOLD_S <= float(x["time_s"]) < b]
                ann = annotated_clip(
                    s.path, a, b, out_dir / f"{stem}_annotated.mp4", overlay=overlay, track_index=tracks, crossing=c,
                    offset_s=s.offset_s, crf=crf, crossings=near, wallclock_start=wall0,
                )  # fmt: skip
                entry["annotated"] = ann.to_dict()
                thumb = ann.thumbnail
            except (ClipError, SourceUnreadable) as exc:
                entry["annotated"] = None
                warnings.append(f"annotated clip not written: {exc}")
        snap = c.get("snapshot")
        snap_img = None
        if isinstance(snap, str) and (scan_dir / snap).is_file():
            snap_img = cv2.imread(str(scan_dir / snap))
        if snap_img is not None:
            entry["thumbnail"] = snap
            thumb = snap_img
        else:
            entry["thumbnail"] = "annotated frame" if thumb is not None else None
        if thumb is None:
            thumb = np.zeros((max(1, int(height or 180)), max(1, int(width or 320)), 3), np.uint8)
        thumbs.append((thumb, _caption(c, wall0)))
        entry["warnings"] = general + warnings
        entries.append(entry)
        if progress is not None:
            progress(k + 1, len(plan))

    name = account.source_name
    contact_sheet(thumbs, out_dir / "crossings.png", columns=columns, thumb_width=thumb_width,
                  title=f"{len(entries)} crossing{'s' if len(entries) != 1 else ''} - {name}")  # fmt: skip
    manifest = {
        "version": 1,
        "scan_dir": str(scan_dir),
        "ledger_head": (summary.get("ledger") or {}).get("head") if isinstance(summary.get("ledger"), dict) else None,
        "pre_s": pre_s,
        "post_s": post_s,
        "contact_sheet": "crossings.png",
        "warnings": general,
        "crossings": entries,
    }
    try:
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {out_dir / 'manifest.json'}: {exc.strerror or exc}") from None
    return entries
