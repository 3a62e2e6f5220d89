"""Border-line geometry shared by the generator, the counter and the evaluator.

Coordinates are image pixels, x to the right and y *down*. A border is a bounded
polyline ``P0, P1, ..., Pn``. **Side A is on your left as you walk from P0 to Pn as
seen on screen**; side B is on your right. For a horizontal line drawn left to right,
A is above it.

The signed distance used for sides is negative on side A and positive on side B
(this matches the sign of the 2-D cross product ``d x (p - P0)`` in y-down coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, LineOutsideFrame

SIDE_A = -1
SIDE_B = 1
ON_LINE = 0


@dataclass(frozen=True)
class Polyline:
    """A bounded border polyline in pixel coordinates, with names for its two sides."""

    points: np.ndarray  # (n, 2) float64, n >= 2
    name: str = "border"
    side_names: tuple[str, str] = ("A", "B")
    _seg_a: np.ndarray = field(init=False, repr=False, compare=False)
    _seg_d: np.ndarray = field(init=False, repr=False, compare=False)
    _seg_len2: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
            raise ConfigError(f"line {self.name!r}: needs at least two points (x,y)")
        if not np.isfinite(pts).all():
            raise ConfigError(f"line {self.name!r}: coordinates must be finite numbers")
        d = np.diff(pts, axis=0)
        len2 = (d**2).sum(axis=1)
        if (len2 <= 1e-12).any():
            raise ConfigError(f"line {self.name!r}: has a segment of zero length")
        if len(set(self.side_names)) != 2 or not all(self.side_names):
            raise ConfigError(f"line {self.name!r}: needs two distinct side names")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "_seg_a", pts[:-1])
        object.__setattr__(self, "_seg_d", d)
        object.__setattr__(self, "_seg_len2", len2)

    @property
    def length(self) -> float:
        return float(np.sqrt(self._seg_len2).sum())

    def side_name(self, side: int) -> str:
        return self.side_names[0] if side == SIDE_A else self.side_names[1]

    def scaled(self, sx: float, sy: float) -> Polyline:
        """The same line in a coordinate frame scaled by (sx, sy)."""
        return Polyline(self.points * np.array([sx, sy]), self.name, self.side_names)

    def check_inside(self, width: int, height: int) -> None:
        """Raise :class:`LineOutsideFrame` unless every point lies within the image."""
        p = self.points
        tol = 1e-6
        if (p[:, 0] < -tol).any() or (p[:, 1] < -tol).any() or (p[:, 0] > width + tol).any() or (
            p[:, 1] > height + tol
        ).any():
            raise LineOutsideFrame(
                f"line {self.name!r} has points outside the {width}x{height} frame: "
                + " ".join(f"{x:g},{y:g}" for x, y in p)
            )

    def _nearest(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the polyline and side sign (-1 A, +1 B, 0 undecidable) of points."""
        flat = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        rel = flat[:, None, :] - self._seg_a[None, :, :]  # (m, s, 2)
        t = np.clip((rel * self._seg_d).sum(-1) / self._seg_len2, 0.0, 1.0)
        nearest = self._seg_a + t[..., None] * self._seg_d
        dist = np.sqrt(((flat[:, None, :] - nearest) ** 2).sum(-1))  # (m, s)
        cross = self._seg_d[None, :, 0] * rel[..., 1] - self._seg_d[None, :, 1] * rel[..., 0]
        line_dist = cross / np.sqrt(self._seg_len2)  # signed distance to each infinite line
        best = dist.min(axis=1, keepdims=True)
        tie = dist <= best + 1e-9
        # Among tied segments prefer the one with the largest |distance to its infinite line|.
        score = np.where(tie, np.abs(line_dist), -np.inf)
        k = score.argmax(axis=1)
        # 0 for points on the line or on the prolongation of an end segment beyond the
        # line's end: they are on neither side.
        sign = np.sign(np.where(np.abs(line_dist[np.arange(len(flat)), k]) <= 1e-9, 0.0, line_dist[np.arange(len(flat)), k]))
        return best[:, 0], sign

    def signed_distance(self, p: np.ndarray) -> np.ndarray:
        """Signed distance of points ``p`` (..., 2) to the polyline: < 0 on side A.

        The magnitude is the Euclidean distance to the nearest point of the polyline;
        the sign is that of the nearest segment (at a vertex shared by two segments,
        the segment whose infinite line is farther decides, which resolves convex and
        concave corners consistently). Points on neither side get a positive sign.
        """
        p = np.asarray(p, dtype=np.float64)
        best, sign = self._nearest(p)
        return (np.where(sign == 0, 1.0, sign) * best).reshape(p.shape[:-1])

    def side(self, p: np.ndarray, strip: float = 0.0) -> np.ndarray:
        """SIDE_A, SIDE_B, or ON_LINE (within ``strip`` px of the line) for points ``p``."""
        p = np.asarray(p, dtype=np.float64)
        best, sign = self._nearest(p)
        # A point (numerically) on the line is on neither side, even with no strip.
        out = np.where((sign == 0) | (best <= max(strip, 1e-7)), ON_LINE, np.where(sign < 0, SIDE_A, SIDE_B))
        return out.reshape(p.shape[:-1])

    def intersections(self, p0: np.ndarray, p1: np.ndarray) -> list[float]:
        """Parameters ``u`` in [0, 1] along p0->p1 where the segment meets the polyline.

        Sorted ascending. Touching an end point counts; collinear overlap returns its
        first point.
        """
        p0 = np.asarray(p0, dtype=np.float64)
        r = np.asarray(p1, dtype=np.float64) - p0
        a, s = self._seg_a, self._seg_d
        denom = r[0] * s[:, 1] - r[1] * s[:, 0]
        qp = a - p0
        out: list[float] = []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            u = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / denom  # along p0->p1
            v = (qp[:, 0] * r[1] - qp[:, 1] * r[0]) / denom  # along the line segment
        eps = 1e-9
        for i in range(len(a)):
            if abs(denom[i]) > 1e-12:
                if -eps <= u[i] <= 1 + eps and -eps <= v[i] <= 1 + eps:
                    out.append(float(min(max(u[i], 0.0), 1.0)))
            else:
                # Parallel: intersect only if collinear and overlapping.
                if abs(qp[i, 0] * r[1] - qp[i, 1] * r[0]) > 1e-9:
                    continue
                rr = float(r @ r)
                if rr == 0.0:
                    continue
                t0 = float(qp[i] @ r) / rr
                t1 = float((qp[i] + s[i]) @ r) / rr
                lo, hi = min(t0, t1), max(t0, t1)
                if hi >= -eps and lo <= 1 + eps:
                    out.append(max(lo, 0.0))
        return sorted(out)


def parse_points(text: str) -> np.ndarray:
    """Parse ``"X1,Y1 X2,Y2 ..."`` (spaces or semicolons between points) into (n, 2)."""
    pts = []
    for tok in text.replace(";", " ").split():
        parts = tok.split(",")
        if len(parts) != 2:
            raise ConfigError(f"bad point {tok!r} in line {text!r}: expected X,Y")
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise ConfigError(f"bad point {tok!r} in line {text!r}: not numbers") from None
    if len(pts) < 2:
        raise ConfigError(f"line {text!r}: needs at least two points")
    return np.array(pts, dtype=np.float64)


def borders_touched(box: np.ndarray, width: float, height: float, margin: float) -> tuple[bool, bool, bool, bool]:
    """Which frame borders an (x0, y0, x1, y1) box reaches, within ``margin`` px:
    (left, top, right, bottom)."""
    return (
        bool(box[0] <= margin),
        bool(box[1] <= margin),
        bool(box[2] >= width - margin),
        bool(box[3] >= height - margin),
    )
