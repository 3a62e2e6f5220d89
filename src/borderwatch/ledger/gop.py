"""Per-GOP hashes of the coded pictures, from demuxed packets (nothing is decoded).

For H.264 and H.265 each packet is split into NAL units (length-prefixed as in
MP4/MKV/MOV, with the length size from the avcC/hvcC extradata; or Annex B start codes as
in MPEG-TS and raw streams) and only the VCL NAL units, the coded slices, are hashed:
each as a 4-byte big-endian length followed by the NAL unit (header and payload,
emulation-prevention bytes as they are, trailing zero bytes dropped). Parameter sets,
SEI, access unit delimiters and the container's framing are left out, so the hash of a
GOP is the same after remuxing with ``-c copy`` (MP4 -> MPEG-TS -> MKV), while changing
any coded picture changes it.

A GOP starts at a packet holding an IDR slice (H.264 type 5) or a recovery-point SEI
(open-GOP random access point), or an IRAP slice (H.265 types 16-23): read from the
bitstream, not from the container's keyframe flag, which containers set differently.
Packets without a VCL NAL unit (a lone parameter set) are ignored. For other codecs the
whole packet data is hashed (same framing) and a GOP starts at each keyframe packet;
such hashes change when the file is remuxed (``method: "packet"``).

Times are presentation times: ``start_s``/``end_s`` span the pts of the GOP's packets
(plus the last one's duration), in seconds from ``origin_pts`` (the stream's start
time, as borderwatch's decoder uses it; else the first GOP's smallest pts), plus
``offset_s`` (the file's place on a segmented timeline).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

H264 = frozenset({"h264"})
H265 = frozenset({"hevc", "h265"})
_SC = b"\x00\x00\x01"


@dataclass(frozen=True)
class GopRecord:
    """One GOP: what ``ledger.append("gop", rec.to_data())`` records."""

    index: int
    start_s: float | None  # None only if no packet of the GOP had a timestamp
    end_s: float | None
    frames: int  # packets (coded pictures) hashed
    bytes: int  # bytes hashed (length prefixes included)
    sha256: str
    codec: str
    method: str  # "vcl": coded slices only, survives remuxing; "packet": whole packets
    source: int | str | None = None

    def to_data(self) -> dict[str, Any]:
        d = asdict(self)
        if self.source is None:
            del d["source"]
        return d

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> GopRecord:
        """From a ledger ``gop`` record's data; ``ValueError`` if fields are missing or wrong."""
        try:
            return cls(
                index=int(data["index"]),
                start_s=None if data.get("start_s") is None else float(data["start_s"]),
                end_s=None if data.get("end_s") is None else float(data["end_s"]),
                frames=int(data.get("frames", 0)),
                bytes=int(data.get("bytes", 0)),
                sha256=str(data["sha256"]),
                codec=str(data.get("codec", "")),
                method=str(data.get("method", "vcl")),
                source=data.get("source"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a GOP record ({type(exc).__name__}: {exc})") from None


def nal_length_size(codec: str, extradata: bytes | None) -> int | None:
    """Bytes of each NAL length prefix from avcC/hvcC extradata; None for Annex B."""
    if not extradata or extradata[:3] == _SC or extradata[:4] == b"\x00" + _SC:
        return None
    if extradata[0] != 1:
        return None
    if codec in H264 and len(extradata) >= 7:
        return (extradata[4] & 0x03) + 1
    if codec in H265 and len(extradata) >= 23:
        return (extradata[21] & 0x03) + 1
    return None


def split_length_prefixed(buf: memoryview, size: int) -> list[tuple[int, int]] | None:
    """(start, end) of each NAL unit; None if the lengths do not add up to the packet."""
    out = []
    pos, n = 0, len(buf)
    while pos + size <= n:
        length = int.from_bytes(buf[pos : pos + size], "big")
        pos += size
        if length == 0:
            continue
        end = pos + length
        if end > n:
            return None
        out.append((pos, end))
        pos = end
    if pos != n and any(buf[pos:n]):
        return None
    return out


def split_annexb(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each NAL unit between start codes (bytes before the first ignored)."""
    out = []
    find = data.find
    i = find(_SC)
    while i >= 0:
        start = i + 3
        j = find(_SC, start)
        out.append((start, len(data) if j < 0 else j))
        i = j
    return out


def _sei_recovery_point(nal: memoryview) -> bool:
    """Whether an H.264 SEI NAL unit carries a recovery point message (payload type 6)."""
    rbsp = bytes(nal[1:]).replace(b"\x00\x00\x03", b"\x00\x00")
    pos = 0
    while pos < len(rbsp) and rbsp[pos] != 0x80:
        ptype, pos = _sei_number(rbsp, pos)
        psize, pos = _sei_number(rbsp, pos)
        if ptype is None or psize is None:
            return False
        if ptype == 6:
            return True
        pos += psize
    return False


def _sei_number(rbsp: bytes, pos: int) -> tuple[int | None, int]:
    """An SEI payload type or size at ``pos`` (0xFF bytes of 255, then the rest) and the
    position after it; None when the data ends first."""
    value, n = 0, len(rbsp)
    while pos < n and rbsp[pos] == 0xFF:
        value += 255
        pos += 1
    if pos >= n:
        return None, pos
    return value + rbsp[pos], pos + 1


class GopHasher:
    """Streaming GOP hashes: ``feed`` each demuxed packet (decode order), then ``finish``.

    ``feed`` returns the GOP records finished by that packet (at most one), so a scan can
    write them to the ledger while it demuxes. Nothing of a packet is kept after ``feed``
    returns. ``origin_pts=None``: the smallest pts of the first GOP.
    """

    def __init__(
        self,
        codec_name: str,
        time_base: Fraction | Any,
        origin_pts: int | None = None,
        *,
        extradata: bytes | None = None,
        offset_s: float = 0.0,
        source: int | str | None = None,
    ) -> None:
        self.codec = (codec_name or "unknown").lower()
        tb = Fraction(time_base) if time_base is not None else Fraction(1, 90000)
        self._num, self._den = tb.numerator, tb.denominator
        self.origin_pts = origin_pts
        self.offset_s = float(offset_s)
        self.source = source
        self._h264 = self.codec in H264
        self._h265 = self.codec in H265
        self.method = "vcl" if (self._h264 or self._h265) else "packet"
        self._nal_size = nal_length_size(self.codec, extradata) if self.method == "vcl" else None
        self.index = 0
        self.packets = 0  # packets fed (non-empty)
        self.hashed_bytes = 0
        self.fallbacks = 0  # length-prefixed packets that had to be read as Annex B
        self._last_step: int | None = None
        self._reset()

    @classmethod
    def from_stream(cls, stream: Any, *, offset_s: float = 0.0, source: int | str | None = None) -> GopHasher:
        """For a PyAV video stream, with the same time origin as borderwatch's decoder."""
        cc = stream.codec_context
        return cls(
            cc.name,
            stream.time_base,
            stream.start_time,
            extradata=cc.extradata,
            offset_s=offset_s,
            source=source,
        )

    def _reset(self) -> None:
        self._h = hashlib.sha256()
        self._frames = 0
        self._bytes = 0
        self._pts: list[int] = []
        self._durs: dict[int, int] = {}

    # -------------------------------------------------------------------- feeding

    def feed(self, packet: Any) -> list[GopRecord]:
        """Hash one PyAV packet (anything with the buffer protocol, ``pts``, ``dts``,
        ``duration`` and ``is_keyframe`` will do). Empty packets are ignored."""
        if getattr(packet, "size", 1) == 0:
            return []
        pts = packet.pts if packet.pts is not None else packet.dts
        return self.feed_data(memoryview(packet), pts, packet.duration, bool(packet.is_keyframe))

    def feed_data(
        self, data: Any, pts: int | None, duration: int | None = None, keyframe: bool = False
    ) -> list[GopRecord]:
        """Hash one packet given as a bytes-like object."""
        view = data if isinstance(data, memoryview) else memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        if not len(view):
            return []
        self.packets += 1
        if self.method == "packet":
            parts: list[tuple[int, int]] = [(0, len(view))]
            starts = keyframe
        else:
            view, parts, starts = self._vcl(view)
            if not parts:
                return []
        out = []
        if starts and self._frames:
            out.append(self._close())
        h = self._h
        n = 0
        for s, e in parts:
            h.update((e - s).to_bytes(4, "big"))
            h.update(view[s:e])
            n += e - s + 4
        self._bytes += n
        self.hashed_bytes += n
        self._frames += 1
        if pts is not None:
            self._pts.append(pts)
            if duration:
                self._durs[pts] = duration
        return out

    def _vcl(self, view: memoryview) -> tuple[memoryview, list[tuple[int, int]], bool]:
        """The packet's VCL NAL units (trailing zeros trimmed) and whether a GOP starts here."""
        nals = None
        if self._nal_size is not None:
            nals = split_length_prefixed(view, self._nal_size)
            if nals is None:
                self.fallbacks += 1
        if nals is None:
            data = bytes(view)
            view = memoryview(data)
            nals = split_annexb(data)
        vcl = []
        starts = False
        for s, e in nals:
            while e > s and view[e - 1] == 0:
                e -= 1
            if e <= s:
                continue
            head = view[s]
            if self._h264:
                t = head & 0x1F
                if 1 <= t <= 5:
                    vcl.append((s, e))
                    starts = starts or t == 5
                elif t == 6 and not starts and _sei_recovery_point(view[s:e]):
                    starts = True
            else:
                t = (head >> 1) & 0x3F
                if t <= 31:
                    vcl.append((s, e))
                    starts = starts or 16 <= t <= 23
        return view, vcl, starts

    def finish(self) -> list[GopRecord]:
        """Close the last GOP; returns it (or nothing if no packet was hashed since)."""
        return [self._close()] if self._frames else []

    # -------------------------------------------------------------------- records

    def _seconds(self, pts: int) -> float:
        # Integer numerator, one true division: exact to the last bit, as io/video.py.
        return self.offset_s + ((pts - (self.origin_pts or 0)) * self._num) / self._den

    def _close(self) -> GopRecord:
        pts = sorted(self._pts)
        start_s: float | None = None
        end_s: float | None = None
        if pts:
            if self.origin_pts is None:
                self.origin_pts = pts[0]
            steps = [b - a for a, b in itertools.pairwise(pts) if b > a]
            if steps:
                self._last_step = min(steps)
            top = pts[-1]
            dur = self._durs.get(top) or self._last_step or 0
            start_s, end_s = self._seconds(pts[0]), self._seconds(top + dur)
        rec = GopRecord(
            index=self.index,
            start_s=start_s,
            end_s=end_s,
            frames=self._frames,
            bytes=self._bytes,
            sha256=self._h.hexdigest(),
            codec=self.codec,
            method=self.method,
            source=self.source,
        )
        self.index += 1
        self._reset()
        return rec


# ------------------------------------------------------------------------ whole files

_MAX_DEMUX_ERRORS = 50


def iter_packets(container: Any, stream: Any) -> Iterator[Any]:
    """Demux one stream's non-empty packets, resuming after container errors (as io/video.py)."""
    import av

    errors_ = (av.FFmpegError, ValueError, MemoryError, OSError)
    errors = 0
    demux = container.demux(stream)
    while True:
        try:
            packet = next(demux)
        except (StopIteration, EOFError):
            return
        except errors_:
            errors += 1
            if errors >= _MAX_DEMUX_ERRORS:
                return
            demux = container.demux(stream)
            continue
        errors = 0
        if packet.size:
            yield packet


def gop_hashes(path: str | Path, *, offset_s: float = 0.0, source: int | str | None = None) -> list[GopRecord]:
    """The GOP records of a whole video file (demux only)."""
    from ..io.probe import open_container, video_stream

    p = Path(path)
    container = open_container(p)
    try:
        stream = video_stream(container, p)
        hasher = GopHasher.from_stream(stream, offset_s=offset_s, source=source)
        out: list[GopRecord] = []
        for packet in iter_packets(container, stream):
            out.extend(hasher.feed(packet))
        out.extend(hasher.finish())
        return out
    finally:
        container.close()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in large chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def display_path(path: str | Path) -> str:
    """A path as valid Unicode for a ledger record (undecodable bytes backslash-escaped)."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def source_data(path: str | Path, index: int, *, offset_s: float = 0.0, sha256: str | None = None) -> dict[str, Any]:
    """The data of a ledger ``source`` record for one file (hashes the file unless given)."""
    p = Path(path)
    return {
        "index": index,
        "path": display_path(p),
        "name": display_path(p.name),
        "size": p.stat().st_size,
        "sha256": sha256 or file_sha256(p),
        "offset_s": float(offset_s),
    }
