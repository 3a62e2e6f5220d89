"""The time-lapse schedule: which source seconds each output frame stands for.

:func:`plan` cuts the source timeline ``[start_s, duration_s)`` into consecutive
windows, one per output frame. Around every crossing ``c`` the span
``[c - pre_s, c + post_s]`` plays in real time (windows of one output frame period);
everything else plays fast, at up to the quiet speed, with a geometric ramp between the
two so the picture never jumps from 1x to 60x.

How a plan is built
-------------------
1. **Real-time spans.** ``[c - pre_s, c + post_s]`` for every crossing inside the
   timeline, merged when they overlap or lie less than ``merge_gap_s`` apart (default
   1 s, and never less than two output frame periods). A span starting less than that
   after the timeline's start, or ending less than that before its end, is stretched to
   it. A span is then lengthened at its end to a whole number of output frames (a
   window boundary never cuts a real-time frame), and its windows are exactly
   ``1 / out_fps`` source seconds each (speed exactly 1). A span cut by the timeline's
   end is split into equal windows instead (speed a little under 1).
2. **Gaps** (the time between spans, and before the first / after the last) play fast.
   Speeds of the frames of a gap follow the distance, in output frames, from the
   nearest real-time span: ``quiet ** (d / n)`` for ``d < n`` and ``quiet`` beyond,
   where ``n = round(ramp_s * out_fps)``. The ramp is geometric (each frame a constant
   factor faster than the one before: it *looks* even), lies wholly outside the span
   (slowing down starts before ``c - pre_s``), and is the same on both sides. A gap too
   short for two full ramps peaks below the quiet speed.
3. **Fitting a gap exactly.** A gap gets the fewest frames whose pattern covers it;
   the pattern is then scaled down by a factor ``alpha <= 1`` so the frames cover it
   exactly (so a gap's speeds are ``alpha`` times the pattern: never above the quiet
   speed, the shape kept). The gap at the timeline's end is not scaled: its frames run
   at the pattern speeds and the very last window is shorter. A timeline without
   crossings therefore plays at exactly the quiet speed.
4. **target_s.** The total output is ``len(windows) / out_fps`` seconds. With a target,
   the smallest quiet speed (never below ``quiet_speed``) whose plan is no longer than
   the target is found by bisection on the frame count, which is computed per gap in
   closed form without building windows. When even a very high speed cannot meet the
   target (the real-time spans alone, plus the ramps, are too long), the plan is
   ``Plan.target_met = False`` with a note saying why, at the lowest speed whose output
   is within 10 % of the shortest any speed reaches (past that, speed buys almost
   nothing: the ramps of each quiet stretch shrink only with the log of the speed).

:func:`plan` returns a :class:`Plan`, a ``list[Window]`` that also carries the speed it
used, whether the target was met, the merged real-time spans and notes (crossings
outside the timeline, an unreachable target).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..coverage import intervals as iv
from ..errors import ConfigError

__all__ = ["REAL_TIME_TOL", "Plan", "Window", "plan", "plan_summary"]

# A window is real time when its speed is at most 1 + this.
REAL_TIME_TOL = 1e-9
# Frame-count searches accept a pattern this much (in output frames at speed 1) short
# of a gap, so float noise never adds a sliver of a frame.
_FIT_TOL = 1e-6
# An unreachable target_s gets the lowest quiet speed within this share of the shortest
# output any speed reaches.
_UNREACHABLE_SLACK = 0.10


@dataclass(frozen=True, slots=True)
class Window:
    """One output frame."""

    index: int  # output frame number
    start_s: float  # source time, inclusive
    end_s: float  # source time, exclusive; windows tile [start, end) exactly
    speed: float  # source seconds per output second over this window
    real_time: bool  # speed <= 1 (+ tolerance): inside a crossing's real-time span


class Plan(list[Window]):
    """The windows of a plan (a plain ``list[Window]``) plus how it was made.

    Attributes: ``out_fps``; ``quiet_speed`` (the speed used over quiet stretches, raised
    above the requested one to meet ``target_s``); ``requested_quiet_speed``;
    ``target_s``; ``target_met`` (``None`` without a target); ``spans`` (the merged
    real-time spans in source seconds, as planned: stretched to whole frames);
    ``crossings_used`` / ``crossings_ignored`` (source times); ``notes`` (human-readable
    remarks worth passing on to the user); ``pre_s``, ``post_s``, ``ramp_s``,
    ``start_s``, ``end_s``.
    """

    out_fps: float
    quiet_speed: float
    requested_quiet_speed: float
    target_s: float | None
    target_met: bool | None
    spans: list[tuple[float, float]]
    crossings_used: list[float]
    crossings_ignored: list[float]
    notes: list[str]
    pre_s: float
    post_s: float
    ramp_s: float
    start_s: float
    end_s: float

    @property
    def duration_out_s(self) -> float:
        return len(self) / self.out_fps


# --- validation -----------------------------------------------------------------------


def _finite(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise ConfigError(f"{name} must be finite, got {v!r}")
    return f


def _nonneg(name: str, v: Any) -> float:
    f = _finite(name, v)
    if f < 0:
        raise ConfigError(f"{name} must be >= 0 seconds, got {f:g}")
    return f


# --- gap arithmetic -------------------------------------------------------------------
#
# Units: "frame units" = source seconds * out_fps, i.e. one output frame at speed 1.
# A frame of speed s covers s frame units. Gap kinds by which sides touch a span:
_NONE, _LEFT, _RIGHT, _BOTH = 0, 1, 2, 3  # _LEFT: span on the left only (the last gap)


class _Ramp:
    """Speeds ``min(q, q ** (d / n))`` at distance ``d >= 1`` frames from a span, and
    their prefix sums ``C[k] = sum_{d=1..k}`` for ``k <= n`` (so ``C[n]`` includes
    the first frame at full speed ``q``)."""

    def __init__(self, q: float, n: int) -> None:
        self.q = q
        self.n = n
        if n > 0:
            self.speeds = np.concatenate([[0.0], q ** (np.arange(1, n + 1) / n)])
            self.speeds[n] = q  # exactly
        else:
            self.speeds = np.zeros(1)
        self.C = np.cumsum(self.speeds)  # C[0] = 0
        # Two-sided pattern sums P2[N] for N = 0..2n: G(ceil(N/2)) + G(floor(N/2)).
        k = np.arange(2 * n + 1)
        self.P2 = self.C[(k + 1) // 2] + self.C[k // 2]

    def G(self, k: np.ndarray) -> np.ndarray:
        """One-sided pattern sums for ``k`` frames (any k >= 0)."""
        k = np.asarray(k, dtype=np.int64)
        return self.C[np.minimum(k, self.n)] + np.maximum(k - self.n, 0) * self.q

    def frames(self, kind: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Fewest frames whose pattern covers ``x`` frame units, per gap (vectorised)."""
        x = np.maximum(np.asarray(x, dtype=np.float64) - _FIT_TOL, 1e-12)
        out = np.empty(len(x), dtype=np.int64)
        q, n, C, P2 = self.q, self.n, self.C, self.P2
        none = kind == _NONE
        out[none] = np.ceil(x[none] / q)
        one = (kind == _LEFT) | (kind == _RIGHT)
        if one.any():
            xo = x[one]
            small = xo <= C[n]
            res = np.where(small, np.searchsorted(C, xo, side="left"), 0)
            res = np.where(small, res, n + np.ceil((xo - C[n]) / q))
            out[one] = res
        both = kind == _BOTH
        if both.any():
            xb = x[both]
            small = xb <= P2[2 * n]
            res = np.where(small, np.searchsorted(P2, xb, side="left"), 0)
            res = np.where(small, res, 2 * n + np.ceil((xb - P2[2 * n]) / q))
            out[both] = res
        return np.maximum(out, 1)

    def offsets(self, kind: int, N: int) -> np.ndarray:
        """Cumulative frame units at frame boundaries 0..N of an unscaled pattern."""
        k = np.arange(N + 1, dtype=np.int64)
        if kind == _NONE:
            return k * self.q
        if kind == _LEFT:
            return self.G(k)
        if kind == _RIGHT:
            total = float(self.G(np.array([N]))[0])
            return total - self.G(N - k)
        h = (N + 1) // 2
        total = float(self.G(np.array([h]))[0] + self.G(np.array([N - h]))[0])
        return np.where(k <= h, self.G(k), total - self.G(N - k))


@dataclass
class _Layout:
    spans: list[tuple[float, float, int, bool]]  # (start, end, frames, clipped at end)
    gaps: list[tuple[float, float, int]]  # (start, end, kind)


def _layout(
    start: float, end: float, crossings: list[float], fps: float, pre: float, post: float, merge_gap: float
) -> _Layout:
    raw_l = []
    for c in crossings:
        lo, hi = max(start, c - pre), min(end, c + post)
        # An instant (pre = post = 0, or a crossing at the very start) still gets a
        # real-time frame; merge() would drop an empty interval.
        raw_l.append((lo, max(hi, min(end, lo + 1e-9))))
    raw = iv.merge(raw_l, gap=merge_gap)
    spans: list[tuple[float, float, int, bool]] = []

    def extended(a: float, b: float) -> tuple[float, int, bool]:
        # Whole frames from a; strictly past b (b itself is a real-time instant).
        k = math.floor((b - a) * fps + 1e-6) + 1
        e = a + k / fps
        if e > end - merge_gap or e >= end:
            k = max(1, math.ceil((end - a) * fps - 1e-9))
            return end, k, True
        return e, k, False

    cur: list[float] | None = None
    for a, b in raw:
        if cur is None:
            cur = [start if a - start < merge_gap else a, b]
            continue
        e, _, _ = extended(cur[0], cur[1])
        if a - e < merge_gap:
            cur[1] = max(cur[1], b)
        else:
            e, k, clipped = extended(cur[0], cur[1])
            spans.append((cur[0], e, k, clipped))
            cur = [a, b]
    if cur is not None:
        e, k, clipped = extended(cur[0], cur[1])
        spans.append((cur[0], e, k, clipped))

    gaps: list[tuple[float, float, int]] = []
    t = start
    for i, (a, e, _, _) in enumerate(spans):
        if a > t:
            gaps.append((t, a, _RIGHT if i == 0 else _BOTH))
        t = e
    if t < end:
        gaps.append((t, end, _LEFT if spans else _NONE))
    return _Layout(spans, gaps)


def _total_frames(layout: _Layout, ramp: _Ramp, fps: float) -> int:
    n = sum(k for _, _, k, _ in layout.spans)
    if layout.gaps:
        g = np.array([(e - s) * fps for s, e, _ in layout.gaps])
        kinds = np.array([kd for _, _, kd in layout.gaps])
        n += int(ramp.frames(kinds, g).sum())
    return n


# --- plan -----------------------------------------------------------------------------


def plan(
    duration_s: float,
    crossings_s: Sequence[float],
    *,
    out_fps: float = 25.0,
    quiet_speed: float = 60.0,
    target_s: float | None = None,
    pre_s: float = 3.0,
    post_s: float = 3.0,
    ramp_s: float = 1.5,
    start_s: float = 0.0,
    merge_gap_s: float = 1.0,
) -> Plan:
    """Output frame ``i`` -> source window ``[start_s, end_s)``; see the module doc.

    ``duration_s`` is the timeline's *end* in source seconds (the timeline is
    ``[start_s, duration_s)``; with the default ``start_s = 0`` it is the duration).
    Give the end of the last source frame (its time plus its duration), or that frame
    falls outside every window. Raises :class:`ConfigError` on bad settings.
    """
    end = _finite("duration_s", duration_s)
    start = _finite("start_s", start_s)
    if end < start:
        if start == 0:
            raise ConfigError(f"duration_s must be >= 0 seconds, got {end:g}")
        raise ConfigError(f"duration_s (the timeline's end, {end:g} s) is before start_s {start:g} s")
    if end == start:
        raise ConfigError(f"the timeline is empty: it ends at {end:g} s, not after its start {start:g} s")
    fps = _finite("out_fps", out_fps)
    if fps <= 0:
        raise ConfigError(f"out_fps must be > 0, got {fps:g}")
    q0 = _finite("quiet_speed", quiet_speed)
    if q0 < 1:
        raise ConfigError(f"quiet_speed must be >= 1 (1 is real time), got {q0:g}")
    target = None if target_s is None else _finite("target_s", target_s)
    if target is not None and target <= 0:
        raise ConfigError(f"target_s must be > 0 seconds, got {target:g}")
    pre, post = _nonneg("pre_s", pre_s), _nonneg("post_s", post_s)
    ramp_s_ = _nonneg("ramp_s", ramp_s)
    merge_gap = max(_nonneg("merge_gap_s", merge_gap_s), 2.0 / fps)
    n_ramp = max(0, round(ramp_s_ * fps))

    used: list[float] = []
    ignored: list[float] = []
    for k, c in enumerate(crossings_s):
        t = _finite(f"crossings_s[{k}]", c)
        (used if start <= t <= end else ignored).append(t)
    notes: list[str] = []
    if ignored:
        shown = ", ".join(f"{t:g}" for t in ignored[:5]) + (", ..." if len(ignored) > 5 else "")
        notes.append(f"{len(ignored)} crossing(s) outside the timeline [{start:g}, {end:g}] s ignored: {shown}")

    layout = _layout(start, end, sorted(used), fps, pre, post, merge_gap)

    q = q0
    target_met: bool | None = None
    if target is not None:
        limit = math.floor(target * fps + 1e-9)  # frames allowed

        def count(speed: float) -> int:
            return _total_frames(layout, _Ramp(speed, n_ramp), fps)

        if count(q0) <= limit:
            target_met = True
        else:
            hi = max(q0 * 2.0, (end - start) * fps, 2.0)
            n_hi = count(hi)
            target_met = n_hi <= limit
            # Unreachable: beyond some speed, more buys almost nothing (each quiet stretch
            # keeps its ramps, whose length grows only with the log of the speed); take
            # the lowest speed within 10 % of the shortest reachable output.
            goal = limit if target_met else math.floor(n_hi * (1 + _UNREACHABLE_SLACK))
            lo = q0  # count(lo) > goal, count(hi) <= goal
            for _ in range(100):
                if hi / lo < 1 + 1e-9:
                    break
                mid = math.sqrt(lo * hi)
                if count(mid) <= goal:
                    hi = mid
                else:
                    lo = mid
            q = hi
            if not target_met:
                rt_frames = sum(k for _, _, k, _ in layout.spans)
                notes.append(
                    f"target {target:g} s cannot be met: the real-time spans alone take {rt_frames / fps:.1f} s "
                    f"of output and every quiet stretch needs its ramps (at best {n_hi / fps:.1f} s in all); "
                    f"planned {count(q) / fps:.1f} s at quiet speed {q:.4g}x"
                )

    windows = _build(layout, _Ramp(q, n_ramp), fps)
    out = Plan(windows)
    out.out_fps = fps
    out.quiet_speed = q
    out.requested_quiet_speed = q0
    out.target_s = target
    out.target_met = target_met
    out.spans = [(a, e) for a, e, _, _ in layout.spans]
    out.crossings_used = sorted(used)
    out.crossings_ignored = ignored
    out.notes = notes
    out.pre_s, out.post_s, out.ramp_s = pre, post, ramp_s_
    out.start_s, out.end_s = start, end
    return out


def _build(layout: _Layout, ramp: _Ramp, fps: float) -> list[Window]:
    """Window boundaries, speeds and flags as arrays, then the Window objects."""
    pieces: list[tuple[float, np.ndarray, np.ndarray | None]] = []  # (start, bounds, speeds or None)
    items: list[tuple[float, int, Any]] = [(s[0], 0, s) for s in layout.spans]
    items += [(g[0], 1, g) for g in layout.gaps]
    items.sort(key=lambda it: it[0])
    for _, is_gap, item in items:
        if not is_gap:
            a, e, k, clipped = item
            if clipped:
                bounds = a + (e - a) * (np.arange(k + 1) / k)
                bounds[-1] = e
                pieces.append((a, bounds, None))
            else:
                bounds = a + np.arange(k + 1) / fps
                bounds[-1] = e
                pieces.append((a, bounds, np.ones(k)))
            continue
        a, e, kind = item
        x = (e - a) * fps
        N = int(ramp.frames(np.array([kind]), np.array([x]))[0])
        off = ramp.offsets(kind, N)
        if kind in (_NONE, _LEFT):
            scale = 1.0  # the last window is cut short instead
        else:
            scale = min(1.0, x / float(off[-1]))
        bounds = a + off * (scale / fps)
        bounds[-1] = e
        speeds = np.diff(off) * scale  # exact pattern speeds (not float noise of bounds)
        speeds[-1] = (e - bounds[-2]) * fps  # the last one absorbs the remainder
        if not (np.diff(bounds) > 0).all():
            # Float noise must never leave an empty or reversed window (never seen:
            # frames are at least ~1e-6 of a frame period long).
            ok = np.concatenate([np.diff(bounds[:-1]) > 0, [True]]) & np.concatenate([bounds[1:-1] < e, [True]])
            bounds = np.concatenate([[bounds[0]], bounds[1:][ok]])
            speeds = np.diff(bounds) * fps
        pieces.append((a, bounds, speeds))

    starts_l, ends_l, speeds_l = [], [], []
    for _, bounds, sp in pieces:
        starts_l.append(bounds[:-1])
        ends_l.append(bounds[1:])
        speeds_l.append(sp if sp is not None else (bounds[1:] - bounds[:-1]) * fps)
    starts = np.concatenate(starts_l)
    ends = np.concatenate(ends_l)
    speeds = np.concatenate(speeds_l)
    rt = speeds <= 1.0 + REAL_TIME_TOL
    # Hundreds of thousands of small objects at once: the cyclic GC would walk them
    # again and again while they are made (a third of the time); none form cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(map(Window, range(len(starts)), starts.tolist(), ends.tolist(), speeds.tolist(), rt.tolist()))
    finally:
        if was_enabled:
            gc.enable()


def plan_summary(windows: Sequence[Window], out_fps: float | None = None) -> dict[str, Any]:
    """Output length, frames, speeds and real-time seconds of a plan (JSON-ready).

    ``out_fps`` defaults to the plan's own (a :class:`Plan`), else it is read off the
    first window (speed / length).
    """
    if out_fps is None:
        out_fps = getattr(windows, "out_fps", None)
    if out_fps is None:
        if not windows:
            raise ConfigError("plan_summary: no windows and no out_fps")
        w = windows[0]
        out_fps = w.speed / (w.end_s - w.start_s)
    fps = float(out_fps)
    n = len(windows)
    out: dict[str, Any] = {"frames": n, "out_fps": fps, "duration_out_s": n / fps}
    if n:
        speeds = [w.speed for w in windows]
        rt = [w for w in windows if w.real_time]
        src = windows[-1].end_s - windows[0].start_s
        out.update(
            source_start_s=windows[0].start_s,
            source_end_s=windows[-1].end_s,
            source_s=src,
            mean_speed=src / (n / fps),
            min_speed=min(speeds),
            max_speed=max(speeds),
            real_time_frames=len(rt),
            real_time_s=math.fsum(w.end_s - w.start_s for w in rt),
            real_time_out_s=len(rt) / fps,
        )
    if isinstance(windows, Plan):
        out.update(
            quiet_speed=windows.quiet_speed,
            requested_quiet_speed=windows.requested_quiet_speed,
            target_s=windows.target_s,
            target_met=windows.target_met,
            crossings=len(windows.crossings_used),
            crossings_ignored=len(windows.crossings_ignored),
            spans=[list(s) for s in windows.spans],
            notes=list(windows.notes),
        )
    return out
