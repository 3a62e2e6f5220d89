"""Camera health per time bucket, computed in the scan's single pass.

The scan feeds the monitor every decoded frame's time (cheap: frame counts and the
timeline), a health sample every ``sample_seconds`` of source time, the decode gaps and
the whole-image light changes its motion model found. The monitor turns samples into
debounced impaired intervals per cause (:mod:`.runs`) and writes one record per bucket
once nothing can change it any more (a few seconds behind the frames), so coverage is
written as the scan goes and memory stays flat.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..config import HealthConfig
from ..coverage.intervals import clip, union_length
from .baseline import Baseline
from .pose import ViewReference
from .runs import RunTracker
from .signals import Sample, SampleMeter

#: Every cause, in the order they are reported when tied.
CAUSES = (
    "lost",
    "signal_loss",
    "blackout",
    "glare",
    "frozen",
    "defocus",
    "moved",
    "light_change",
    "low_light",
)
# Causes decided from samples, with how many samples (x min_impaired_seconds) they need.
_SAMPLED = ("signal_loss", "blackout", "glare", "frozen", "defocus", "moved", "low_light")
# A freeze is dated back over earlier samples whose change was below this many times
# the frozen threshold (an encoder settling on a repeated picture), up to this many.
_FROZEN_SETTLE = 2.5
_FROZEN_LOOKBACK = 4
# A position estimate needs at least this match score (normalised correlation).
_MIN_MATCH = 0.3
# A sample whose change from the previous one exceeds both of these is "busy".
_BUSY_ABS = 2.0
_BUSY_FACTOR = 3.0
# Low light must last this many times min_impaired_seconds (dusk is slow).
_LOW_LIGHT_FACTOR = 5.0
# A stretch without frames longer than this many buckets is written as one bucket.
_MAX_EMPTY_BUCKETS = 1000


@dataclass
class _Bucket:
    start: float
    end: float
    frames: int = 0
    samples: list[Sample] = field(default_factory=list)


class HealthMonitor:
    """Per-bucket coverage of one scan. Call :meth:`finish` at the end."""

    def __init__(
        self,
        cfg: HealthConfig,
        width: int,
        height: int,
        frame_interval_s: float | None,
        sparse: bool,
        on_bucket: Callable[[dict[str, Any]], None],
        wallclock_start: datetime | None = None,
        relearn_s: float = 0.0,
        full_range: bool = True,
    ) -> None:
        # Luma levels are configured on the full 0-255 scale; most video is coded in
        # "video range", where black is 16 and white 235 (a clipped highlight never
        # reaches 250 there).
        scale, zero = (1.0, 0.0) if full_range else (219.0 / 255.0, 16.0)
        dark, clip = round(zero + scale * cfg.dark_level), round(zero + scale * cfg.clip_level)
        self.levels: dict[str, float] = {
            "low_light_p95": zero + scale * cfg.low_light_p95,
            "night": zero + scale * cfg.night_level,
            "flat": scale * cfg.flat_spread,
        }
        self.cfg = cfg
        self.width = width
        self.frame_dt = frame_interval_s
        self.sparse = sparse
        self.on_bucket = on_bucket
        self.wall0 = wallclock_start
        self.relearn_s = relearn_s
        self.meter = SampleMeter(width, height, dark, clip)
        step = cfg.sample_seconds
        n_min = max(1, math.ceil(cfg.min_impaired_seconds / step - 1e-9))
        self.runs = {
            c: RunTracker(c, round(n_min * _LOW_LIGHT_FACTOR) if c == "low_light" else (1 if c == "signal_loss" else n_min), step)
            for c in _SAMPLED
        }
        # Buckets are written once every run that could still reach back into them is
        # either finished or confirmed.
        self.lag_s = (max(r.min_samples for r in self.runs.values()) + 2) * step + (frame_interval_s or 0.0)
        self.baselines = {regime: (Baseline(cfg, step), Baseline(cfg, step)) for regime in ("day", "night")}
        alpha = min(1.0, step / cfg.baseline_seconds)
        self.views = {regime: ViewReference(width, alpha) for regime in ("day", "night")}
        self._next_sample: float | None = None
        self._now: float = 0.0
        self._bucket: _Bucket | None = None
        self._pending: list[_Bucket] = []  # ended, waiting for the lag
        self.intervals: list[tuple[str, float, float]] = []  # closed, in the order found
        self._live: list[tuple[str, float, float]] = []  # closed, still reaching unwritten buckets
        self._light: list[float] | None = None  # [start, last light frame] of an open light change
        self._last_sample_t: float | None = None
        # (time, change) of the latest samples, to date a freeze back (see _frozen_since).
        self._recent: deque[tuple[float, float | None]] = deque(maxlen=_FROZEN_LOOKBACK)
        self._frozen_at = cfg.frozen_change
        self.samples_taken = 0

    # -- feeding ---------------------------------------------------------------------

    def wants_sample(self, t: float) -> bool:
        return self._next_sample is None or t >= self._next_sample or self.sparse

    def frame(self, t: float) -> None:
        """A decoded frame at source time ``t`` (call for every frame, in order)."""
        self._advance(t)
        assert self._bucket is not None
        self._bucket.frames += 1

    def sample(self, t: float, small: np.ndarray, luma: np.ndarray) -> None:
        """One health sample (call after :meth:`frame` for the same frame)."""
        cfg = self.cfg
        self._next_sample = t + cfg.sample_seconds
        s = self.meter.measure(t, small, luma)
        self.samples_taken += 1
        regime = "night" if s.p50 < self.levels["night"] else "day"
        change_base, sharp_base = self.baselines[regime]
        view = self.views[regime]
        flags, pose, s, busy = self._verdicts(s, small, change_base.value, sharp_base.value, view)
        if self._bucket is not None:
            self._bucket.samples.append(s)
        for cause, on in flags.items():
            if on is None:
                continue  # no verdict on this sample: runs neither start nor end
            # A frozen picture is seen by comparing with the previous sample: it was
            # already frozen at that sample.
            start_t = self._frozen_since(self._frozen_at) if cause == "frozen" and on else None
            done = self.runs[cause].update(t, on, start_t)
            if done is not None:
                self._close(cause, *done)
        self._last_sample_t = t
        self._recent.append((t, s.change))
        if not any(flags.values()):
            if s.change is not None:
                change_base.add(s.change)
            if flags["defocus"] is not None or sharp_base.value is None:
                sharp_base.add(s.sharpness)
            if pose is not None and not busy:
                view.learn(t, pose, in_place=s.shift_px is not None and s.shift_px < cfg.moved_frac * self.width / 2)

    def _verdicts(
        self, s: Sample, small: np.ndarray, change_base: float | None, sharp_base: float | None, view: ViewReference
    ) -> tuple[dict[str, bool | None], np.ndarray | None, Sample, bool]:
        """Each sampled cause: impaired (True), fine (False) or unknown (None); and
        whether the picture is busy."""
        cfg = self.cfg
        flags: dict[str, bool | None] = {}
        flags["signal_loss"] = s.spread <= self.levels["flat"]
        flags["blackout"] = not flags["signal_loss"] and s.dark_frac >= cfg.blackout_frac
        flags["glare"] = s.clipped_frac >= cfg.glare_frac
        blind = bool(flags["signal_loss"] or flags["blackout"] or flags["glare"])
        flags["low_light"] = not blind and s.p95 <= self.levels["low_light_p95"]
        ch = s.change
        frozen_at = self._frozen_at = max(cfg.frozen_change, cfg.frozen_ratio * (change_base or 0.0))
        # A covered or washed-out picture does not change either: no verdict on freezing.
        flags["frozen"] = (ch is not None and ch <= frozen_at) if not blind else None
        # A busy picture (big movers, exposure hunting) says nothing reliable about
        # focus or position: those verdicts wait for a calm sample.
        busy = ch is not None and ch > max(_BUSY_ABS, _BUSY_FACTOR * (change_base or 0.0))
        calm = not blind and not busy
        flags["defocus"] = (s.sharpness <= cfg.defocus_ratio * sharp_base) if calm and sharp_base is not None else None
        pose = view.image(small) if not blind else None
        flags["moved"] = None
        if pose is not None and view.ready:
            shift, score = view.shift(pose)
            s = replace(s, shift_px=round(shift, 2), response=round(score, 3))
            if calm and score >= _MIN_MATCH:
                flags["moved"] = shift >= cfg.moved_frac * self.width
        return flags, pose, s, busy

    def _frozen_since(self, frozen_at: float) -> float | None:
        """When a freeze began, seen from its first frozen sample.

        The picture was already frozen at the previous sample (the change is measured
        between the two). And an encoder takes a moment to settle on a repeated picture:
        the samples just before keep changing a little (well under the live noise), so
        the freeze is dated back over those too.
        """
        start = self._last_sample_t
        if start is None:
            return None
        for i in range(len(self._recent) - 1, 0, -1):
            t_i, ch = self._recent[i]
            if ch is None or ch > _FROZEN_SETTLE * frozen_at or t_i != start:
                break
            start = self._recent[i - 1][0]
        return start

    def lost(self, start_s: float, end_s: float) -> None:
        """Frames missing between two decoded frames (a :class:`DecodeGap`).

        The whole gap is lost time, as summary.json's "undecodable" lists it, though
        the last good frame before it was on screen for its own frame period: the two
        accounts must agree, and the difference is one frame per gap.
        """
        if end_s > start_s:
            self._close("lost", start_s, end_s)
        # Nothing is known across the gap: runs end at their last sample.
        for cause, run in self.runs.items():
            done = run.break_run()
            if done is not None:
                self._close(cause, *done)
        self._last_sample_t = None
        self._recent.clear()

    def light(self, t: float, is_light: bool) -> None:
        """The motion model's verdict on an analysed frame: part of a light change or not."""
        if is_light:
            if self._light is None:
                self._light = [t, t]
            else:
                self._light[1] = t
        elif self._light is not None:
            self._close_light(t)

    # -- buckets -----------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        B = self.cfg.bucket_seconds
        if self._bucket is None:
            self._bucket = _Bucket(0.0, B)
        while t >= self._bucket.end:
            self._pending.append(self._bucket)
            start = self._bucket.end
            # A jump of many buckets without frames (a long gap) is one empty bucket.
            skip_to = math.floor(t / B) * B
            end = skip_to if skip_to - start > _MAX_EMPTY_BUCKETS * B else start + B
            self._bucket = _Bucket(start, end)
        self._now = max(self._now, t)
        self._flush(self._now - self.lag_s)

    def _flush(self, upto: float) -> None:
        while self._pending and self._pending[0].end <= upto:
            self._write(self._pending.pop(0))

    def _close(self, cause: str, start: float, end: float) -> None:
        if end <= start:
            return
        iv = (cause, round(start, 6), round(end, 6))
        # Merge with the previous interval of the same cause when they touch.
        for i in range(len(self.intervals) - 1, max(-1, len(self.intervals) - 12), -1):
            c, s0, e0 = self.intervals[i]
            if c == cause and s0 <= iv[1] <= e0 + 1e-6:
                merged = (cause, s0, max(e0, iv[2]))
                self.intervals[i] = merged
                self._live = [x for x in self._live if x != (c, s0, e0)] + [merged]
                return
        self.intervals.append(iv)
        self._live.append(iv)

    def _close_light(self, t_next: float) -> None:
        assert self._light is not None
        start, last = self._light
        self._light = None
        self._close("light_change", start, max(last + self.relearn_s, min(t_next, last + (self.frame_dt or 0.0))))

    def _open_intervals(self) -> list[tuple[str, float, float]]:
        out = []
        for cause, run in self.runs.items():
            c = run.confirmed()
            if c is not None:
                out.append((cause, c[0], c[1] + self.cfg.sample_seconds / 2.0))
        if self._light is not None:
            out.append(("light_change", self._light[0], self._light[1] + self.relearn_s))
        return out

    def _write(self, b: _Bucket) -> None:
        length = b.end - b.start
        ivs = [iv for iv in self._live + self._open_intervals() if iv[1] < b.end and iv[2] > b.start]
        by_cause: dict[str, float] = {}
        for cause in CAUSES:
            spans = [(max(s, b.start), min(e, b.end)) for c, s, e in ivs if c == cause]
            if spans:
                by_cause[cause] = round(union_length(spans), 6)
        impaired = union_length([(max(s, b.start), min(e, b.end)) for _, s, e in ivs]) if ivs else 0.0
        causes = sorted(by_cause, key=lambda c: (-by_cause[c], CAUSES.index(c)))
        expected = None
        if self.frame_dt and not self.sparse:
            expected = int(round(length / self.frame_dt))
        rec: dict[str, Any] = {
            "start_s": round(b.start, 6),
            "end_s": round(b.end, 6),
            "wallclock_start": (self.wall0 + timedelta(seconds=b.start)).isoformat() if self.wall0 else None,
            "frames_expected": expected,
            "frames_decoded": b.frames,
            "samples": len(b.samples),
            "state": "impaired" if impaired > 1e-9 else "observable",
            "causes": causes,
            "observable_s": round(max(0.0, length - impaired), 6),
            "impaired_s": by_cause,
            "signals": _medians(b.samples),
        }
        self.on_bucket(rec)
        self._live = [iv for iv in self._live if iv[2] > b.end]

    # -- the end -----------------------------------------------------------------------

    def finish(self, end_s: float, gaps: list[tuple[float, float]] | None = None) -> dict[str, Any]:
        """Close everything at the timeline's end and return the summary's ``coverage``."""
        for s0, e0 in gaps or []:
            self.lost(s0, e0)
        for cause, run in self.runs.items():
            done = run.finish(end_s)
            if done is not None:
                self._close(cause, *done)
        if self._light is not None:
            self._close_light(end_s)
        end_s = max(end_s, self._now)
        if self._bucket is None:
            self._bucket = _Bucket(0.0, max(end_s, 1e-6))
        self._bucket.end = max(self._bucket.start, end_s) if end_s > self._bucket.start else self._bucket.end
        self._pending.append(self._bucket)
        self._bucket = None
        self._flush(math.inf)
        return self.summary(end_s)

    def summary(self, end_s: float) -> dict[str, Any]:
        by_cause = {}
        for cause in CAUSES:
            spans = clip([(s, e) for c, s, e in self.intervals if c == cause], 0.0, end_s)
            if spans:
                by_cause[cause] = round(union_length(spans), 6)
        impaired = union_length(clip([(s, e) for _, s, e in self.intervals], 0.0, end_s))
        return {
            "bucket_s": self.cfg.bucket_seconds,
            "duration_s": round(end_s, 6),
            "observable_s": round(max(0.0, end_s - impaired), 6),
            "impaired_s": round(impaired, 6),
            "impaired_by_cause_s": by_cause,
            "impaired_intervals": [
                {"cause": c, "start_s": s, "end_s": round(min(e, end_s), 6)}
                for c, s, e in sorted(self.intervals, key=lambda iv: (iv[1], iv[0]))
            ],
            "samples": self.samples_taken,
            "thresholds": self.cfg.model_dump(mode="json"),
        }


def _medians(samples: list[Sample]) -> dict[str, float | None]:
    if not samples:
        return {}
    out: dict[str, float | None] = {}
    for key in samples[0].signals():
        vals = [v for v in (s.signals()[key] for s in samples) if v is not None]
        out[key] = round(float(np.median(vals)), 4) if vals else None
    return out
