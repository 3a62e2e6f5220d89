"""Burned-in overlays for the time-lapse and the crossing clips (OpenCV, in place, BGR).

One :class:`Overlay` is built per render; :meth:`Overlay.draw` is called on every output
picture. Everything is sized from the frame's height (readable from 640x360 to
1920x1080), text is anti-aliased with a dark outline or a translucent dark backing so it
reads on any background, and whatever does not change between frames is drawn once:

* the **line layer** (border lines with their outline, side names near both ends, the
  line's name) is rendered once into a sparse premultiplied-alpha layer and composited
  by indexing (opaque pixels copied, anti-aliased edge pixels blended);
* the **coverage bar** strip (observable green, impaired coloured by cause with the
  colours of the coverage report's PNG, no-signal dark grey, crossing ticks) is rendered
  once and copied into the bottom rows.

Per frame only the boxes, trails, crossing markers, the header and the bar's cursor are
drawn. The bar occupies the bottom ``bar_height_frac`` of the picture; a caller that
must not hide any of the picture can pad the frame at the bottom and build the overlay
with the padded height (pixel coordinates are unchanged by bottom padding).

Side convention (``geometry.py``): side A is on the left walking from the first point
to the last, as seen on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import cv2
import numpy as np

from ..coverage.report import CAUSE_COLOURS, OBSERVABLE_COLOUR, UNKNOWN_CAUSE_COLOUR, UNOBSERVED_COLOUR
from ..geometry import Polyline

# (track_id, x1, y1, x2, y2, label) in frame pixels.
Box = tuple[int, float, float, float, float, str]
# track_id -> ground points (x, y) oldest first.
Trails = dict[int, list[tuple[float, float]]]


@dataclass(frozen=True)
class _Layer:
    """A static layer as flat indices into a C-contiguous BGR picture (``reshape(-1)``):
    opaque pixels are copied, anti-aliased edge pixels blended in 8-bit fixed point
    (``(picture * keep + add) >> 8``, ``add`` the premultiplied colour times 256), after
    darkening the ``rects`` (translucent text backings)."""

    rects: list[tuple[int, int, int, int]]
    opaque_idx: np.ndarray
    opaque_val: np.ndarray
    part_idx: np.ndarray
    part_keep: np.ndarray
    part_add: np.ndarray


class TrackLookup(Protocol):
    """What the overlays need from a track index: boxes in a window, trails up to it."""

    def at(self, a: float, b: float) -> tuple[list[Box], Trails]: ...


# Duplex at thickness 1: as bold as simplex at 2, and anti-aliased text of thickness > 1
# costs about ten times as much in OpenCV (0.3 ms a string).
FONT = cv2.FONT_HERSHEY_DUPLEX
AA = cv2.LINE_AA
BACKING = 0.4  # translucent backing: the picture behind text at 40 %
LINE_COLOUR = (0, 200, 255)  # BGR amber, as the scan's snapshots
OUTLINE = (0, 0, 0)
WHITE = (255, 255, 255)
REAL_TIME_BG = (0, 0, 210)  # BGR red backing for "REAL TIME"
CROSSING_COLOURS = ((60, 60, 255), (255, 200, 40))  # first side->second (red), reverse (cyan-blue)
# Track colours (BGR), chosen by track id.
PALETTE = (
    (75, 25, 230), (75, 180, 60), (25, 225, 255), (200, 130, 0), (48, 130, 245), (180, 30, 145),
    (240, 240, 70), (230, 50, 240), (60, 245, 210), (212, 190, 250), (128, 128, 0), (40, 110, 170),
)  # fmt: skip
TRAIL_POINTS = 48  # newest points of a trail drawn
TRAIL_CHUNKS = 4  # fading steps


def hex_bgr(colour: str) -> tuple[int, int, int]:
    """``"#43a047"`` -> (71, 160, 67)."""
    c = colour.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return (b, g, r)


def cause_bgr(cause: str | None) -> tuple[int, int, int]:
    """Bar colour of a span: observable (None), a known cause, or unknown/unobserved."""
    if cause is None:
        return hex_bgr(OBSERVABLE_COLOUR)
    if cause in CAUSE_COLOURS:
        return hex_bgr(CAUSE_COLOURS[cause])
    if cause in ("undecodable", "no_record", "unobserved"):
        return hex_bgr(UNOBSERVED_COLOUR)
    return hex_bgr(UNKNOWN_CAUSE_COLOUR)


def fmt_source_time(t: float) -> str:
    """Source seconds as ``h:mm:ss.ss`` (negative times keep their sign)."""
    sign = "-" if t < 0 else ""
    cs = round(abs(t) * 100)
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, c = divmod(rem, 100)
    return f"{sign}{h}:{m:02d}:{s:02d}.{c:02d}"


def fmt_wallclock(wall: datetime, digits: int = 2) -> str:
    """``2026-01-01 12:00:03.25 UTC`` (``+01:00`` for other offsets; naive: no zone).

    Rounded to ``digits`` like the source time beside it, not truncated.
    """
    if digits > 0:
        wall = wall + timedelta(microseconds=10 ** (6 - digits) // 2)
    text = wall.strftime("%Y-%m-%d %H:%M:%S")
    if digits > 0:
        text += f".{wall.microsecond // 10 ** (6 - digits):0{digits}d}"
    off = wall.utcoffset()
    if off is not None:
        if off == timedelta(0):
            text += " UTC"
        else:
            total = int(off.total_seconds())
            sign = "+" if total >= 0 else "-"
            hh, mm = divmod(abs(total) // 60, 60)
            text += f" {sign}{hh:02d}:{mm:02d}"
    return text


def fmt_speed(speed: float, real_time: bool) -> str:
    if real_time:
        return "REAL TIME"
    if speed >= 10:
        return f"{speed:.0f}x"
    return f"{speed:.1f}x"


def direction_of(c: dict[str, Any]) -> str:
    d = c.get("direction")
    if isinstance(d, str) and d:
        return d
    return f"{c.get('from_side', '?')}->{c.get('to_side', '?')}"


def spans_from_account(account: Any) -> list[tuple[float, float, str | None]]:
    """Coverage spans for :class:`Overlay` from a ``coverage.report.CoverageAccount``:
    the scanned span as observable, then every impaired and unrecorded interval."""
    if account.start_s is None or account.end_s is None:
        return []
    spans: list[tuple[float, float, str | None]] = [(float(account.start_s), float(account.end_s), None)]
    spans += [(r.start_s, r.end_s, r.cause) for r in account.impaired_intervals]
    spans += [(r.start_s, r.end_s, r.cause) for r in account.unobserved_intervals]
    return spans


class Overlay:
    """Overlays for one render at one picture size (see the module docstring)."""

    def __init__(
        self,
        width: int,
        height: int,
        lines: Sequence[Polyline],
        coverage_spans: Sequence[tuple[float, float, str | None]],
        duration_s: float,
        crossings: Sequence[dict[str, Any]],
        wallclock_start: datetime | None,
        bar_height_frac: float = 0.05,
        *,
        start_s: float = 0.0,
        title: str | None = None,
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"overlay size must be positive, got {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.lines = list(lines)
        self.spans = list(coverage_spans)
        self.start_s = float(start_s)
        self.duration_s = max(0.0, float(duration_s))
        self.crossings = list(crossings)
        self.wallclock_start = wallclock_start
        self.title = title
        h = self.height
        # Sizes: text about 2.8 % of the height (11 px at 360, 30 px at 1080).
        text_px = max(11.0, 0.028 * h)
        self.font_scale = text_px / 22.0  # Hershey caps are ~22 px at scale 1
        self.thick = 1 if self.font_scale < 1.8 else 2
        self.small_scale = self.font_scale * 0.8
        self.small_thick = 1 if self.small_scale < 1.8 else 2
        self.line_thick = max(2, round(h / 240))
        self.box_thick = max(1, round(h / 360))
        self.pad = max(3, round(text_px * 0.35))
        self.bar_h = max(6, round(h * max(0.0, bar_height_frac))) if bar_height_frac > 0 else 0
        self.bar_h = min(self.bar_h, h // 3)
        self._bar = self._render_bar()
        self._layer = self._render_line_layer()

    # ------------------------------------------------------------------ static parts

    def x_of(self, t: float) -> float:
        """Bar x (pixels, float) of source time ``t``."""
        if self.duration_s <= 0:
            return 0.0
        return (t - self.start_s) / self.duration_s * self.width

    def _render_bar(self) -> np.ndarray | None:
        if self.bar_h <= 0:
            return None
        w, bh = self.width, self.bar_h
        strip = np.empty((bh, w, 3), np.uint8)
        strip[:] = hex_bgr(UNOBSERVED_COLOUR)

        # Observable first, then impaired causes, the no-signal ones last (they win).
        def rank(span: tuple[float, float, str | None]) -> int:
            return 0 if span[2] is None else (2 if span[2] in ("lost", "signal_loss") else 1)

        ranked = sorted(self.spans, key=rank)
        for s, e, cause in ranked:
            x0 = int(np.floor(self.x_of(s)))
            x1 = int(np.ceil(self.x_of(e)))
            x0, x1 = max(0, x0), min(w, max(x1, x0 + 1))  # never thinner than a pixel
            if x1 > x0:
                strip[:, x0:x1] = cause_bgr(cause)
        strip[0, :] = (30, 30, 30)  # a dark edge against the picture
        tick_h = max(3, round(bh * 0.55))
        for c in self.crossings:
            t = c.get("time_s")
            if not isinstance(t, (int, float)):
                continue
            x = round(self.x_of(float(t)))
            if 0 <= x < w:
                cv2.line(strip, (x, 1), (x, tick_h), OUTLINE, 3)
                cv2.line(strip, (x, 1), (x, tick_h), WHITE, 1)
        return strip

    def _render_line_layer(self) -> _Layer | None:
        """Lines and their labels, drawn once (see :class:`_Layer`)."""
        if not self.lines:
            return None
        h, w = self.height, self.width
        col = np.zeros((h, w, 3), np.uint8)  # premultiplied by construction (drawn over black)
        alpha = np.zeros((h, w), np.uint8)
        t = self.line_thick
        for ln in self.lines:
            pts = np.round(ln.points).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(alpha, [pts], False, 255, t + 2, AA)
            cv2.polylines(col, [pts], False, OUTLINE, t + 2, AA)
            cv2.polylines(col, [pts], False, LINE_COLOUR, t, AA)
        rects: list[tuple[int, int, int, int]] = []
        for ln in self.lines:
            for text, org in self._line_labels(ln):
                (tw, th), base = cv2.getTextSize(text, FONT, self.small_scale, self.small_thick)
                p = max(2, self.pad // 2)
                rects.append((org[0] - p, org[1] - th - p, org[0] + tw + p, org[1] + base + p))
                # Text over the (per-frame) darkened backing: no outline in the layer.
                cv2.rectangle(alpha, (rects[-1][0], rects[-1][1]), (rects[-1][2] - 1, rects[-1][3] - 1), 0, -1)
                cv2.rectangle(col, (rects[-1][0], rects[-1][1]), (rects[-1][2] - 1, rects[-1][3] - 1), OUTLINE, -1)
                cv2.putText(alpha, text, org, FONT, self.small_scale, 255, self.small_thick, AA)
                cv2.putText(col, text, org, FONT, self.small_scale, LINE_COLOUR, self.small_thick, AA)
        flat_a = alpha.reshape(-1)
        idx = np.flatnonzero(flat_a)
        a = flat_a[idx].astype(np.uint32)
        full = a == 255
        chans = np.arange(3, dtype=np.intp)

        def idx3(i: np.ndarray) -> np.ndarray:
            out: np.ndarray = (i.astype(np.intp)[:, None] * 3 + chans).reshape(-1)
            return out

        flat_c = col.reshape(-1, 3)
        part = idx[~full]
        a_p = a[~full]
        a_p = a_p + (a_p >> 7)  # 0..255 -> 0..256
        return _Layer(
            rects=rects,
            opaque_idx=idx3(idx[full]),
            opaque_val=flat_c[idx[full]].reshape(-1).copy(),
            part_idx=idx3(part),
            part_keep=np.repeat(256 - a_p, 3).astype(np.uint32),
            part_add=(flat_c[part].astype(np.uint32) << 8).reshape(-1),
        )

    def _line_labels(self, ln: Polyline) -> list[tuple[str, tuple[int, int]]]:
        """Side names beside both end segments (A on the left of first->last), and the name."""
        p = ln.points
        out: list[tuple[str, tuple[int, int]]] = []
        off = self.line_thick + self.pad + 0.6 * 22 * self.small_scale
        for end in (0, 1):
            a, b = (p[0], p[1]) if end == 0 else (p[-2], p[-1])
            d = b - a
            n = float(np.hypot(*d))
            if n <= 0:
                continue
            d = d / n
            left = np.array([d[1], -d[0]])  # side A's normal in y-down screen coordinates
            along = min(0.12 * n + 2 * off, 0.45 * n)
            base = a + d * along if end == 0 else b - d * along
            for name, sgn in ((ln.side_names[0], 1.0), (ln.side_names[1], -1.0)):
                out.append((name, self._place(name, base + sgn * left * off, self.small_scale, self.small_thick)))
        if ln.name:
            d = p[1] - p[0]
            n = float(np.hypot(*d)) or 1.0
            base = p[0] + d / n * min(0.5 * n, 0.3 * n + 4 * off)
            left = np.array([d[1], -d[0]]) / n
            out.append((ln.name, self._place(ln.name, base + left * 2.6 * off, self.small_scale, self.small_thick)))
        return out

    def _place(self, text: str, centre: np.ndarray, scale: float, thick: int) -> tuple[int, int]:
        """Baseline origin centring ``text`` on ``centre``, kept inside the picture."""
        (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
        x = round(centre[0] - tw / 2)
        y = round(centre[1] + th / 2)
        x = min(max(x, 2), max(2, self.width - tw - 2))
        y = min(max(y, th + 2), max(th + 2, self.height - self.bar_h - base - 2))
        return x, y

    # ------------------------------------------------------------------ per frame

    def draw(
        self,
        img: np.ndarray,
        *,
        t_s: float,
        window: tuple[float, float],
        speed: float,
        real_time: bool,
        boxes: Sequence[Box],
        trails: Trails,
        crossings_now: Sequence[dict[str, Any]],
    ) -> None:
        """Draw every overlay on ``img`` (BGR uint8, ``height x width``) in place."""
        if img.ndim != 3 or img.shape[0] != self.height or img.shape[1] != self.width or img.shape[2] != 3:
            raise ValueError(f"overlay is for {self.width}x{self.height} BGR pictures, got shape {img.shape}")
        self._draw_layer(img)
        for tid, pts in trails.items():
            self._draw_trail(img, tid, pts)
        for box in boxes:
            self._draw_box(img, box)
        stacked = 0
        for c in crossings_now:
            stacked = self._draw_crossing(img, c, stacked)
        self._draw_header(img, t_s, speed, real_time)
        self._draw_bar(img, t_s, window)

    def _draw_layer(self, img: np.ndarray) -> None:
        layer = self._layer
        if layer is None:
            return
        for x0, y0, x1, y1 in layer.rects:
            self._darken(img, x0, y0, x1, y1)
        target = img if img.flags.c_contiguous else np.ascontiguousarray(img)
        flat = target.reshape(-1)
        flat.put(layer.opaque_idx, layer.opaque_val)
        if len(layer.part_idx):
            v = flat.take(layer.part_idx).astype(np.uint32)
            v *= layer.part_keep
            v += layer.part_add
            v >>= 8
            flat.put(layer.part_idx, v)
        if target is not img:
            img[:] = target

    def _darken(self, img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(self.width, x1), min(self.height, y1)
        if x1 > x0 and y1 > y0:
            roi = img[y0:y1, x0:x1]
            cv2.convertScaleAbs(roi, roi, BACKING)

    def _text(self, img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int],
              scale: float | None = None, thick: int | None = None) -> None:  # fmt: skip
        """Text at baseline origin ``org`` on a translucent dark backing."""
        s = self.font_scale if scale is None else scale
        t = self.thick if thick is None else thick
        (tw, th), base = cv2.getTextSize(text, FONT, s, t)
        p = max(2, self.pad // 2)
        self._darken(img, org[0] - p, org[1] - th - p, org[0] + tw + p, org[1] + base + p)
        cv2.putText(img, text, org, FONT, s, colour, t, AA)

    def _backed_text(self, img: np.ndarray, text: str, x: int, y_top: int, colour: tuple[int, int, int],
                     bg: tuple[int, int, int] | None, right: bool = False) -> int:  # fmt: skip
        """Header text on a translucent dark (or opaque ``bg``) box; returns the box's bottom."""
        (tw, th), base = cv2.getTextSize(text, FONT, self.font_scale, self.thick)
        p = self.pad
        bw, bh = tw + 2 * p, th + base + 2 * p
        if right:
            x = x - bw
        if bg is None:
            self._darken(img, x, y_top, x + bw, y_top + bh)
        else:
            cv2.rectangle(img, (x, y_top), (x + bw - 1, y_top + bh - 1), bg, -1)
        cv2.putText(img, text, (x + p, y_top + p + th), FONT, self.font_scale, colour, self.thick, AA)
        return y_top + bh

    def _draw_header(self, img: np.ndarray, t_s: float, speed: float, real_time: bool) -> None:
        m = self.pad
        parts = [fmt_source_time(t_s)]
        if self.wallclock_start is not None:
            parts.append(fmt_wallclock(self.wallclock_start + timedelta(seconds=t_s)))
        if self.title:
            parts.insert(0, self.title)
        self._backed_text(img, "  ".join(parts), m, m, WHITE, None)
        label = fmt_speed(speed, real_time)
        if real_time:
            self._backed_text(img, label, self.width - m, m, WHITE, REAL_TIME_BG, right=True)
        else:
            self._backed_text(img, label, self.width - m, m, (0, 230, 255), None, right=True)

    def _draw_bar(self, img: np.ndarray, t_s: float, window: tuple[float, float]) -> None:
        if self._bar is None:
            return
        h, w, bh = self.height, self.width, self.bar_h
        y0 = h - bh
        img[y0:h] = self._bar
        a, b = self.x_of(window[0]), self.x_of(window[1])
        if b - a > 1.0:
            x0, x1 = max(0, round(a)), min(w - 1, round(b))
            if x1 > x0:
                cv2.rectangle(img, (x0, y0 + 1), (x1, h - 1), WHITE, 1)
        x = min(max(round(self.x_of(t_s)), 0), w - 1)
        ct = max(1, self.line_thick // 2)
        tri = max(3, bh // 3)
        cv2.line(img, (x, y0 - tri // 2), (x, h - 1), OUTLINE, ct + 2)
        cv2.line(img, (x, y0 - tri // 2), (x, h - 1), WHITE, ct)
        pts = np.array([[x - tri, y0 - tri], [x + tri, y0 - tri], [x, y0]], np.int32)
        cv2.fillConvexPoly(img, pts, WHITE, AA)
        cv2.polylines(img, [pts], True, OUTLINE, 1, AA)

    def _draw_box(self, img: np.ndarray, box: Box) -> None:
        tid, x1, y1, x2, y2, label = box
        colour = PALETTE[int(tid) % len(PALETTE)]
        p1 = (round(x1), round(y1))
        p2 = (round(x2), round(y2))
        cv2.rectangle(img, p1, p2, OUTLINE, self.box_thick + 2)
        cv2.rectangle(img, p1, p2, colour, self.box_thick)
        text = f"#{tid}" if not label or label == "unknown" else f"#{tid} {label}"
        (tw, th), _base = cv2.getTextSize(text, FONT, self.small_scale, self.small_thick)
        x = min(max(p1[0], 0), max(0, self.width - tw - 2))
        y = p1[1] - 3 if p1[1] - th - 3 >= 0 else min(self.height - 2, p2[1] + th + 3)
        self._text(img, text, (x, y), colour, self.small_scale, self.small_thick)

    def _draw_trail(self, img: np.ndarray, tid: int, pts: Sequence[tuple[float, float]]) -> None:
        if len(pts) < 2:
            return
        arr = np.round(np.asarray(pts[-TRAIL_POINTS:], dtype=np.float64)).astype(np.int32)
        colour = np.asarray(PALETTE[int(tid) % len(PALETTE)], np.float64)
        n = len(arr)
        chunks = min(TRAIL_CHUNKS, n - 1)
        bounds = np.linspace(0, n - 1, chunks + 1).round().astype(int)
        for k in range(chunks):
            seg = arr[bounds[k] : bounds[k + 1] + 1]
            if len(seg) < 2:
                continue
            f = (k + 1) / chunks  # older chunks fade towards dark and thin out
            c = tuple(int(v) for v in colour * (0.3 + 0.7 * f))
            t = max(1, round(self.box_thick * (0.5 + f)))
            cv2.polylines(img, [seg.reshape(-1, 1, 2)], False, c, t, AA)

    def _draw_crossing(self, img: np.ndarray, c: dict[str, Any], stacked: int) -> int:
        direction = direction_of(c)
        t = c.get("time_s")
        when = fmt_source_time(float(t)) if isinstance(t, (int, float)) else "?"
        label = c.get("label")
        text = f"#{c.get('id', '?')} {c.get('line', '')} {direction} {when}".replace("  ", " ")
        if isinstance(label, str) and label and label != "unknown":
            text += f" {label}"
        colour = CROSSING_COLOURS[self._reverse(c)]
        pt = c.get("point")
        (tw, th), base = cv2.getTextSize(text, FONT, self.small_scale, self.small_thick)
        if isinstance(pt, (list, tuple)) and len(pt) == 2:
            x, y = round(float(pt[0])), round(float(pt[1]))
            r = max(5, round(self.height / 60))
            cv2.circle(img, (x, y), r, OUTLINE, self.line_thick + 2, AA)
            cv2.circle(img, (x, y), r, colour, self.line_thick, AA)
            tx = min(max(x + r + 2, 2), max(2, self.width - tw - 2))
            ty = y - r - 2 if y - r - 2 - th >= 0 else y + r + th + 2
            ty = min(ty, self.height - self.bar_h - base - 2)
            self._text(img, text, (tx, ty), colour, self.small_scale, self.small_thick)
            return stacked
        # No point recorded: list it under the header.
        top = self.pad * 4 + int(22 * self.font_scale) + stacked * (th + base + 2 * self.pad)
        self._text(img, text, (self.pad, top + th), colour, self.small_scale, self.small_thick)
        return stacked + 1

    def _reverse(self, c: dict[str, Any]) -> int:
        """1 when the crossing goes from the line's second side to its first."""
        for ln in self.lines:
            if ln.name == c.get("line"):
                return int(c.get("from_side") == ln.side_names[1])
        return int(c.get("from_side") == "B")
