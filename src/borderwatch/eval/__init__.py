"""Score a scan's crossings against ground truth.

Truth is the JSON written by ``borderwatch synth`` (or by hand for a real clip);
predictions are the ``crossings.jsonl`` of a scan's output directory. Loading errors are
:class:`~borderwatch.errors.TruthError` with one line naming the file (and the line of
a JSONL file) so a user can fix the input without a traceback.

>>> from borderwatch.eval import Event, match
>>> r = match([Event(1, "border", "A", "B", 3.0)], [Event(9, "border", "A", "B", 3.2)], fps=25)
>>> (r.tp, r.fp, r.fn, round(r.f1, 3))
(1, 0, 0, 1.0)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import TruthError
from .match import DEFAULT_TOLERANCE_S, Counts, EvalResult, Event, MatchedPair, aggregate, match, rates

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "Counts",
    "EvalResult",
    "Event",
    "MatchedPair",
    "Truth",
    "aggregate",
    "evaluate",
    "load_predictions",
    "load_truth",
    "match",
    "rates",
]

_REQUIRED = ("time_s", "line", "from_side", "to_side")


@dataclass(frozen=True)
class Truth:
    """A loaded ground-truth file."""

    path: Path
    clip: str
    fps: Fraction | None
    crossings: list[Event]
    lines: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> side names
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _parse_fps(value: Any, where: str) -> Fraction | None:
    if value is None:
        return None
    try:
        f = Fraction(str(value)) if not isinstance(value, float) else Fraction(value).limit_denominator(1001000)
    except (ValueError, ZeroDivisionError):
        raise TruthError(f"{where}: 'fps' must be a number or a ratio like '30000/1001', got {value!r}") from None
    if f <= 0:
        raise TruthError(f"{where}: 'fps' must be positive, got {value!r}")
    return f


def _event(obj: Any, where: str, default_id: int) -> Event:
    """Validate one crossing object (truth or prediction) into an :class:`Event`."""
    if not isinstance(obj, dict):
        raise TruthError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise TruthError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    t = obj["time_s"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise TruthError(f"{where}: 'time_s' must be a finite number, got {t!r}")
    for k in ("line", "from_side", "to_side"):
        if not isinstance(obj[k], str) or not obj[k]:
            raise TruthError(f"{where}: {k!r} must be a non-empty string, got {obj[k]!r}")
    frame = obj.get("frame")
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int)):
        raise TruthError(f"{where}: 'frame' must be an integer, got {frame!r}")
    ident = obj.get("id", default_id)
    return Event(
        id=ident if isinstance(ident, (int, str)) else str(ident),
        line=obj["line"],
        from_side=obj["from_side"],
        to_side=obj["to_side"],
        time_s=float(t),
        label=str(obj.get("label") or ""),
        frame=frame,
    )


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise TruthError(f"{path}: no such file")
    if path.is_dir():
        raise TruthError(f"{path}: is a directory, expected a ground-truth JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TruthError(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TruthError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None


def load_truth(path: str | Path) -> Truth:
    """Load a ground-truth JSON file (format written by ``borderwatch synth``)."""
    p = Path(path)
    data = _read_json(p)
    if not isinstance(data, dict):
        raise TruthError(f"{p}: expected a JSON object at the top level")
    version = data.get("version", 1)
    if version != 1:
        raise TruthError(f"{p}: unsupported ground-truth version {version!r} (this borderwatch reads 1)")
    crossings = data.get("crossings")
    if not isinstance(crossings, list):
        raise TruthError(f"{p}: 'crossings' must be a list")
    events = [_event(c, f"{p}: crossings[{i}]", i) for i, c in enumerate(crossings)]
    lines: dict[str, tuple[str, str]] = {}
    for i, ln in enumerate(data.get("lines") or []):
        if not isinstance(ln, dict) or not isinstance(ln.get("name"), str):
            raise TruthError(f"{p}: lines[{i}] needs a 'name'")
        sides = ln.get("sides") or ["A", "B"]
        if not isinstance(sides, list) or len(sides) != 2:
            raise TruthError(f"{p}: lines[{i}] 'sides' must be two names")
        lines[ln["name"]] = (str(sides[0]), str(sides[1]))
    video = data.get("video")
    clip = Path(video).stem if isinstance(video, str) and video else p.stem
    return Truth(p, clip, _parse_fps(data.get("fps"), str(p)), events, lines, data)


def load_predictions(path: str | Path) -> list[Event]:
    """Load a scan's crossings: an output directory or its ``crossings.jsonl``."""
    p = Path(path)
    f = p / "crossings.jsonl" if p.is_dir() else p
    if not f.exists():
        what = "scan output directory has no crossings.jsonl" if p.is_dir() else "no such file"
        raise TruthError(f"{f}: {what}")
    out: list[Event] = []
    try:
        with f.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue  # a trailing blank line is not an error
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TruthError(f"{f}:{n}: not valid JSON: {exc.msg} (column {exc.colno})") from None
                out.append(_event(obj, f"{f}:{n}", n))
    except (OSError, UnicodeDecodeError) as exc:
        raise TruthError(f"{f}: cannot read: {exc}") from None
    return out


def _consistency_warnings(truth: Truth, pred: list[Event]) -> list[str]:
    # Misnamed lines or sides would silently turn every prediction into an FP; say so.
    warnings: list[str] = []
    if not truth.lines:
        return warnings
    for name in sorted({e.line for e in pred} - set(truth.lines)):
        warnings.append(f"predictions use line {name!r}, which the truth does not define")
    for e in pred:
        sides = truth.lines.get(e.line)
        if sides and {e.from_side, e.to_side} != set(sides):
            warnings.append(f"prediction {e.id}: sides {e.direction} do not match line {e.line!r} sides {sides}")
            break
    return warnings


def evaluate(
    pred_path: str | Path, truth_path: str | Path, tolerance_s: float = DEFAULT_TOLERANCE_S, clip: str | None = None
) -> EvalResult:
    """Load both files and :func:`match` them. Prediction times are ``time_s``."""
    truth = load_truth(truth_path)
    pred = load_predictions(pred_path)
    res = match(truth.crossings, pred, tolerance_s=tolerance_s, fps=truth.fps, clip=clip or truth.clip)
    res.warnings.extend(_consistency_warnings(truth, pred))
    return res
