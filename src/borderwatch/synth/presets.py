"""Named scenes: ``PRESETS[name](seed, **overrides) -> SceneSpec``.

``overrides`` are any :class:`SceneSpec` field (``width``, ``height``, ``fps``,
``duration_s``, ``line``, ``effects``...) plus ``speed``, which sets every actor's
speed in px per frame. Positions and start times vary with the seed; the structure of
the truth (how many crossings, in which directions) does not.

>>> spec = PRESETS["back_and_forth"](seed=3, width=320, height=180)
>>> spec.actors[0].behavior, spec.actors[0].traversals
('back_and_forth', 4)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from .spec import SceneSpec, make_spec, parse_rate

PresetFn = Callable[..., SceneSpec]


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**32])


def _finish(seed: int, base: dict[str, Any], overrides: dict[str, Any]) -> SceneSpec:
    over = dict(overrides)
    speed = over.pop("speed", None)
    if "seed" in over:
        raise ConfigError("pass the seed as the first argument, not as an override")
    unknown = set(over) - set(SceneSpec.model_fields)
    if unknown:
        raise ConfigError(f"unknown scene option(s): {', '.join(sorted(unknown))}")
    data = {**base, **over, "seed": seed}
    if speed is not None:
        data["actors"] = [{**a, "speed": speed} for a in data.get("actors", [])]
    return make_spec(data)


def _sides(rng: np.random.Generator, n: int, sides: tuple[str, str] = ("A", "B")) -> list[str]:
    """Alternate starting sides, starting at random: both directions are always present."""
    first = int(rng.integers(2))
    return [sides[(first + i) % 2] for i in range(n)]


def _line_sides(over: dict[str, Any]) -> tuple[str, str]:
    line = over.get("line")
    if line is None:
        return ("A", "B")
    sides = line.get("sides") if isinstance(line, dict) else getattr(line, "sides", None)
    return tuple(sides) if sides else ("A", "B")  # type: ignore[return-value]


def _crossers(seed: int, name: str, over: dict[str, Any], kind: str, n: int, every_s: float, **extra: Any) -> list[dict[str, Any]]:
    rng = _rng(seed, name)
    return [
        {
            "kind": kind,
            "start_s": round(0.5 + i * every_s + float(rng.uniform(0, 0.3 * every_s)), 3),
            "at": round(float(rng.uniform(0.2, 0.8)), 3),
            "from_side": side,
            "angle_deg": round(float(rng.uniform(-20, 20)), 2),
            **extra,
        }
        for i, side in enumerate(_sides(rng, n, _line_sides(over)))
    ]


def quiet(seed: int = 0, **over: Any) -> SceneSpec:
    """Mostly empty: one walker crossing and one animal grazing on one side."""
    rng = _rng(seed, "quiet")
    actors = _crossers(seed, "quiet", over, "walk", 1, 4.0)
    actors.append({"kind": "animal", "behavior": "wander", "start_s": 12.0, "offset": round(float(rng.uniform(0.08, 0.15)), 3)})
    return _finish(seed, {"duration_s": 40.0, "actors": actors}, over)


def _simple(name: str, kind: str, n: int, every_s: float, duration: float, **extra: Any) -> PresetFn:
    def make(seed: int = 0, **over: Any) -> SceneSpec:
        return _finish(seed, {"duration_s": duration, "actors": _crossers(seed, name, over, kind, n, every_s, **extra)}, over)

    make.__name__ = name
    make.__doc__ = f"{n} x {kind} crossing, alternating directions."
    return make


def animal(seed: int = 0, **over: Any) -> SceneSpec:
    """Two animals crossing and one moving along its side of the line (a distractor)."""
    actors = _crossers(seed, "animal", over, "animal", 2, 6.0)
    actors.append({"kind": "animal", "behavior": "wander", "start_s": 1.0, "offset": 0.2, "from_side": actors[0]["from_side"]})
    return _finish(seed, {"duration_s": 25.0, "actors": actors}, over)


def loiter(seed: int = 0, **over: Any) -> SceneSpec:
    """Walks up to the line, stands on it (just past it, inside the margin), turns back."""
    a = _crossers(seed, "loiter", over, "walk", 1, 1.0, behavior="loiter", loiter_s=5.0)
    a[0]["angle_deg"] = 0.0
    return _finish(seed, {"duration_s": 26.0, "actors": a}, over)


def back_and_forth(seed: int = 0, **over: Any) -> SceneSpec:
    """One walker crossing four times, directions alternating."""
    a = _crossers(seed, "back_and_forth", over, "walk", 1, 1.0, behavior="back_and_forth", traversals=4)
    a[0]["angle_deg"] = 0.0
    return _finish(seed, {"duration_s": 32.0, "actors": a}, over)


def along_line(seed: int = 0, **over: Any) -> SceneSpec:
    """Walks the whole line wobbling over it by <= 0.6 % of the diagonal: no crossing."""
    a = _crossers(seed, "along_line", over, "walk", 1, 1.0, behavior="along_line")
    return _finish(seed, {"duration_s": 24.0, "actors": a}, over)


def occlusion(seed: int = 0, **over: Any) -> SceneSpec:
    """Two walkers cross behind a foreground bush: the crossing itself is unseen."""
    a = _crossers(seed, "occlusion", over, "walk", 2, 8.0, occluded=True)
    a[0]["at"], a[1]["at"] = 0.3, 0.7  # far enough apart that the two bushes do not merge
    return _finish(seed, {"duration_s": 28.0, "actors": a}, over)


def fast(seed: int = 0, **over: Any) -> SceneSpec:
    """Four movers at 60 px per frame (a car, or a slow camera)."""
    a = _crossers(seed, "fast", over, "vehicle", 4, 1.2, speed=60.0)
    return _finish(seed, {"duration_s": 6.0, "actors": a}, over)


def trailcam(seed: int = 0, **over: Any) -> SceneSpec:
    """One frame per second for three minutes: three walkers, one animal."""
    a = _crossers(seed, "trailcam", over, "walk", 3, 45.0)
    a.append({"kind": "animal", "start_s": 150.0, "at": 0.5})
    return _finish(seed, {"fps": "1", "duration_s": 180.0, "actors": a}, over)


def mixed(seed: int = 0, **over: Any) -> SceneSpec:
    """Every kind and every hard case over a minute, positions drawn from the seed."""
    rng = _rng(seed, "mixed")
    sides = _sides(rng, 10, _line_sides(over))
    at = [0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85]
    rng.shuffle(at)
    a: list[dict[str, Any]] = [
        {"kind": "walk", "start_s": 0.5, "at": at[0], "from_side": sides[0]},
        {"kind": "run", "start_s": 5.0, "at": at[1], "from_side": sides[1]},
        {"kind": "vehicle", "start_s": 10.0, "at": at[2], "from_side": sides[2]},
        {"kind": "group", "members": 3, "start_s": 16.0, "at": at[3], "from_side": sides[3]},
        {"kind": "crawl", "start_s": 20.0, "at": at[4], "from_side": sides[4], "speed": 1.0},
        {"kind": "animal", "start_s": 26.0, "at": at[5], "from_side": sides[5]},
        {"kind": "walk", "behavior": "loiter", "start_s": 30.0, "at": at[6], "from_side": sides[6]},
        {"kind": "walk", "behavior": "back_and_forth", "traversals": 2, "start_s": 36.0, "at": at[7], "from_side": sides[7]},
        {"kind": "animal", "behavior": "wander", "start_s": 40.0, "from_side": sides[8]},
    ]
    return _finish(seed, {"duration_s": 62.0, "actors": a}, over)


def day(seed: int = 0, **over: Any) -> SceneSpec:
    """Ten quiet minutes with three crossings and a brightness drift: a time-lapse test."""
    duration = float(over.get("duration_s", 600.0))
    rng = _rng(seed, "day")
    sides = _sides(rng, 3, _line_sides(over))
    a = [
        {"kind": k, "start_s": round(duration * f, 3), "at": round(float(rng.uniform(0.2, 0.8)), 3), "from_side": s}
        for k, f, s in zip(("walk", "vehicle", "walk"), (0.15, 0.5, 0.8), sides)
    ]
    fx = {"light_drift": 0.05, "light_period_s": duration}
    return _finish(seed, {"duration_s": duration, "actors": a, "effects": fx}, over)


def quiet_day(seed: int = 0, **over: Any) -> SceneSpec:
    """Two quiet hours with five crossings (four walkers, a vehicle) spread over them and a
    slow brightness drift: the time-lapse benchmark."""
    duration = float(over.get("duration_s", 7200.0))
    rng = _rng(seed, "quiet_day")
    sides = _sides(rng, 5, _line_sides(over))
    kinds = ("walk", "walk", "vehicle", "walk", "walk")
    a = [
        {"kind": k, "start_s": round(duration * f, 3), "at": round(float(rng.uniform(0.2, 0.8)), 3), "from_side": s}
        for k, f, s in zip(kinds, (0.1, 0.3, 0.5, 0.7, 0.9), sides)
    ]
    fx = {"light_drift": 0.05, "light_period_s": duration}
    return _finish(seed, {"duration_s": duration, "actors": a, "effects": fx}, over)


def _effect(name: str, **fx: Any) -> PresetFn:
    def make(seed: int = 0, **over: Any) -> SceneSpec:
        a = _crossers(seed, name, over, "walk", 2, 6.0)
        return _finish(seed, {"duration_s": 20.0, "actors": a, "effects": fx}, over)

    make.__name__ = name
    make.__doc__ = f"Two walkers crossing with {name.replace('_', ' ')}."
    return make


# A default walker meets the default line this long after its path starts (4.3-6 s
# depending on side and angle, at any resolution): used to aim crossings at a time.
_WALK_TO_LINE_S = 5.2
_FAULT_KINDS = ("cover", "freeze", "defocus", "knock", "glare", "drop", "corrupt")


def _walker(rng: np.random.Generator, cross_at: float, side: str) -> dict[str, Any]:
    return {
        "kind": "walk",
        "start_s": round(max(0.0, cross_at - _WALK_TO_LINE_S), 2),
        "at": round(float(rng.uniform(0.2, 0.8)), 3),
        "from_side": side,
        "angle_deg": round(float(rng.uniform(-15, 15)), 2),
    }


def _on_frames(t: float, over: dict[str, Any]) -> float:
    """``t`` rounded to the frame grid (so the truth interval is exactly the spec's)."""
    try:
        fps = parse_rate(over.get("fps", 25))
    except ValueError:
        return round(t, 1)  # the spec's validation reports the bad rate
    return float(Fraction(round(Fraction(repr(t)) * fps)) / fps)


def _fault_one(kind: str) -> PresetFn:
    def make(seed: int = 0, **over: Any) -> SceneSpec:
        name = f"fault_{kind}"
        duration = float(over.get("duration_s", 72.0))
        rng = _rng(seed, name)
        start = _on_frames(duration * float(rng.uniform(0.42, 0.47)), over)
        end = None if kind == "knock" else _on_frames(start + duration / 6, over)
        sides = _sides(rng, 2, _line_sides(over))
        # One crossing in clean time before the fault, one in the middle of it.
        actors = [_walker(rng, duration / 6, sides[0]), _walker(rng, start + duration / 12, sides[1])]
        fault = {"kind": kind, "start_s": start, "end_s": end}
        return _finish(seed, {"duration_s": duration, "actors": actors, "faults": [fault]}, over)

    make.__name__ = f"fault_{kind}"
    make.__doc__ = f"72 s, two walkers; a {kind} fault from 30-34 s ({'to the end' if kind == 'knock' else 'for 12 s'}), one crossing inside it."
    return make


def faults(seed: int = 0, **over: Any) -> SceneSpec:
    """Four minutes with every fault kind once, in seeded order and places, with clean
    time between them (>= 8 s at the default length) and two walkers: one crossing in
    the clean lead-in, one while the lens is covered."""
    duration = float(over.get("duration_s", 240.0))
    rng = _rng(seed, "faults")
    kinds = list(_FAULT_KINDS)
    rng.shuffle(kinds)
    lead = 0.08 * duration
    slot = (0.9 * duration - lead) / len(kinds)
    fx: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        frac = float(rng.uniform(0.3, 0.45))
        start = lead + i * slot + float(rng.uniform(0.15, 0.85 - frac)) * slot
        fx.append({"kind": kind, "start_s": _on_frames(start, over), "end_s": _on_frames(start + frac * slot, over)})
    cover = next(f for f in fx if f["kind"] == "cover")
    sides = _sides(rng, 2, _line_sides(over))
    mid = (cover["start_s"] + cover["end_s"]) / 2
    actors = [_walker(rng, 0.6 * lead, sides[0]), _walker(rng, mid, sides[1])]
    effects = {"light_drift": 0.03, "light_period_s": duration}
    return _finish(seed, {"duration_s": duration, "actors": actors, "faults": fx, "effects": effects}, over)


PRESETS: dict[str, PresetFn] = {
    "quiet": quiet,
    "walk": _simple("walk", "walk", 2, 8.0, 20.0),
    "run": _simple("run", "run", 2, 3.0, 10.0),
    "crawl": _simple("crawl", "crawl", 1, 1.0, 22.0, speed=1.2),
    "vehicle": _simple("vehicle", "vehicle", 2, 4.0, 12.0),
    "animal": animal,
    "group": _simple("group", "group", 1, 1.0, 20.0, members=4),
    "loiter": loiter,
    "back_and_forth": back_and_forth,
    "along_line": along_line,
    "occlusion": occlusion,
    "fast": fast,
    "trailcam": trailcam,
    "mixed": mixed,
    "day": day,
    "quiet_day": quiet_day,
    "light_switch": _effect("light_switch", light_switch_s=[7.0]),
    "shake": _effect("shake", shake_px=2.0),
    "rain": _effect("rain", weather="rain"),
    "snow": _effect("snow", weather="snow"),
    "night": _effect("night", night=True, noise=4.0),
    "faults": faults,
    **{f"fault_{k}": _fault_one(k) for k in _FAULT_KINDS},
}


def preset(name: str, seed: int = 0, **overrides: Any) -> SceneSpec:
    """``PRESETS[name](seed, **overrides)`` with a one-line error for unknown names."""
    fn = PRESETS.get(name)
    if fn is None:
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return fn(seed, **overrides)
