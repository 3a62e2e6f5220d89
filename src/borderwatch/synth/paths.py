"""Turn actor specs into per-frame ground-contact trajectories.

Everything here is exact float geometry in pixel coordinates; drawing happens later and
puts each shape's bottom centre on these points. Paths enter from outside the frame and
leave it again, so nothing pops into view in mid-scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..geometry import Polyline
from .spec import ActorSpec, SceneSpec

# Standard body size as (width, height) in units of the standing-person height.
BODY: dict[str, tuple[float, float]] = {
    "walk": (0.34, 1.0),
    "group": (0.34, 1.0),
    "run": (0.40, 0.97),
    "crawl": (0.90, 0.32),
    "vehicle": (1.50, 0.95),
    "animal": (0.95, 0.60),
}
# Default speeds in metres per second, converted to px/frame with a 1.7 m person.
SPEED_MPS: dict[str, float] = {"walk": 1.4, "group": 1.3, "run": 4.0, "crawl": 0.35, "vehicle": 7.0, "animal": 1.6}
PERSON_M = 1.7
# Group members follow each other this many body sizes apart along their path, so that
# a background subtractor sees separate blobs (documented in the package docstring).
GROUP_SPACING = 1.5
TURN_PAUSE_S = 0.6


@dataclass
class ActorPlan:
    """One drawn mover with its whole trajectory (a group member is its own plan)."""

    actor_id: int
    spec_index: int
    spec: ActorSpec
    speed: float  # px per frame
    width: float  # px
    height: float  # px
    start_frame: int
    pos: np.ndarray  # (n, 2) ground-contact point for frames start_frame .. start_frame + n - 1
    travelled: np.ndarray  # (n,) cumulative path length, drives the gait animation
    facing: np.ndarray  # (n,) +1 / -1: which way the head points for side views
    group: int | None = None
    color: tuple[int, int, int] = (40, 40, 40)
    first_visible: int | None = None
    last_visible: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def end_frame(self) -> int:
        return self.start_frame + len(self.pos) - 1

    def bbox(self, k: int) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the drawn shape at trajectory index ``k``."""
        x, y = self.pos[k]
        return (x - self.width / 2, y - self.height, x + self.width / 2, y)


def line_px(spec: SceneSpec) -> Polyline:
    pts = np.array(spec.line.points, dtype=np.float64) * np.array([spec.width, spec.height])
    return Polyline(pts, spec.line.name, (spec.line.sides[0], spec.line.sides[1]))


def point_at(line: Polyline, frac: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point at ``frac`` of the line's length, its unit tangent, and the unit normal to side B."""
    seg = np.diff(line.points, axis=0)
    lens = np.sqrt((seg**2).sum(1))
    target = frac * lens.sum()
    cum = np.concatenate([[0.0], np.cumsum(lens)])
    i = int(min(np.searchsorted(cum, target, side="right") - 1, len(seg) - 1))
    t = seg[i] / lens[i]
    p = line.points[i] + t * (target - cum[i])
    # Side B has positive cross product d x (p - P0) in y-down coordinates.
    return p, t, np.array([-t[1], t[0]])


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def ray_to_rect(p: np.ndarray, u: np.ndarray, lo: tuple[float, float], hi: tuple[float, float]) -> float:
    """Distance along unit ``u`` from ``p`` (inside) to the rectangle [lo, hi]'s edge."""
    ts = []
    for k in range(2):
        if u[k] > 1e-9:
            ts.append((hi[k] - p[k]) / u[k])
        elif u[k] < -1e-9:
            ts.append((lo[k] - p[k]) / u[k])
    return max(0.0, min(ts)) if ts else 0.0


def exit_distance(p: np.ndarray, u: np.ndarray, width: int, height: int, w: float, h: float) -> float:
    """Distance along ``u`` from ``p`` until a w x h body standing there is out of view."""
    return ray_to_rect(p, u, (-w / 2 - 2.0, -2.0), (width + w / 2 + 2.0, height + h + 2.0))


def sample_path(knots: list[tuple[np.ndarray, int]], speed: float) -> np.ndarray:
    """Positions at each frame walking through ``(point, pause_frames)`` knots at ``speed``."""
    times = [0.0]
    pts = [knots[0][0]]
    if knots[0][1]:
        times.append(float(knots[0][1]))
        pts.append(knots[0][0])
    for (a, _), (b, pause) in zip(knots, knots[1:]):
        times.append(times[-1] + float(np.linalg.norm(b - a)) / speed)
        pts.append(b)
        if pause:
            times.append(times[-1] + pause)
            pts.append(b)
    t = np.arange(int(math.ceil(times[-1])) + 1, dtype=np.float64)
    tk = np.array(times)
    pk = np.array(pts)
    return np.stack([np.interp(t, tk, pk[:, 0]), np.interp(t, tk, pk[:, 1])], axis=1)


def _knots(a: ActorSpec, spec: SceneSpec, line: Polyline, w: float, h: float, speed: float) -> list[tuple[np.ndarray, int]]:
    W, H, diag = spec.width, spec.height, spec.diagonal
    fps = float(spec.fps)
    P, tangent, n_b = point_at(line, a.at)
    sgn = -1.0 if (a.from_side or spec.line.sides[0]) == spec.line.sides[0] else 1.0  # side A is negative
    u = _rot(-sgn * n_b, a.angle_deg)  # heading from the start side towards the other
    if a.behavior == "cross":
        return [(P - u * exit_distance(P, -u, W, H, w, h), 0), (P + u * exit_distance(P, u, W, H, w, h), 0)]
    if a.behavior == "loiter":
        start = P - u * exit_distance(P, -u, W, H, w, h)
        # Standing just past the line but inside the margin: on the line, never across it.
        stand = P + u * (a.loiter_offset * diag)
        return [(start, 0), (stand, round(a.loiter_s * fps)), (start, 0)]
    if a.behavior == "back_and_forth":
        pause = round(TURN_PAUSE_S * fps)
        ks: list[tuple[np.ndarray, int]] = [(P - u * exit_distance(P, -u, W, H, w, h), 0)]
        for i in range(a.traversals):
            d = 1.0 if i % 2 == 0 else -1.0
            ks.append((P + d * u * (a.turn * diag), pause))
        d = 1.0 if a.traversals % 2 else -1.0
        ks[-1] = (P + d * u * exit_distance(P, d * u, W, H, w, h), 0)
        return ks
    if a.behavior == "along_line":
        return _along(line, spec, a, sgn, w, h)
    # wander: parallel to the line, far enough away never to come near it.
    side_dir = n_b * sgn
    # Stay in view: at most 3/4 of the room between the line and the frame edge (the
    # ground point needs a body height of room above it), but always well past the margin.
    room = min(ray_to_rect(v, side_dir, (0.0, h), (float(W), float(H))) for v in line.points)
    off = side_dir * max(min(a.offset * diag, 0.75 * room), 4 * spec.margin_px)
    direction = 1.0 if a.angle_deg >= 0 else -1.0
    pts = line.points + off
    if direction < 0:
        pts = pts[::-1]
    t0 = pts[1] - pts[0]
    t0 /= np.linalg.norm(t0)
    t1 = pts[-1] - pts[-2]
    t1 /= np.linalg.norm(t1)
    first = pts[0] - t0 * exit_distance(pts[0], -t0, W, H, w, h) if _inside(pts[0], W, H) else pts[0]
    last = pts[-1] + t1 * exit_distance(pts[-1], t1, W, H, w, h) if _inside(pts[-1], W, H) else pts[-1]
    return [(first, 0)] + [(p, 0) for p in pts[1:-1]] + [(last, 0)]


def _inside(p: np.ndarray, W: int, H: int) -> bool:
    return bool(0 <= p[0] <= W and 0 <= p[1] <= H)


def _along(line: Polyline, spec: SceneSpec, a: ActorSpec, sgn: float, w: float, h: float) -> list[tuple[np.ndarray, int]]:
    """Wobble over the line along its whole length, entering and leaving on the start side.

    The lateral offset is ``sgn * wobble * cos(2 pi m s / L)``: at both ends it is on the
    start side, so beyond the line's ends (where the distance to the line grows past the
    margin) the walker is confirmed on the same side twice and the rule counts nothing.
    """
    W, H = spec.width, spec.height
    amp = a.wobble * spec.diagonal
    length = line.length
    m = max(2, round(length / (0.25 * max(W, H))))
    seg = np.diff(line.points, axis=0)
    lens = np.sqrt((seg**2).sum(1))
    normals = np.stack([-seg[:, 1], seg[:, 0]], axis=1) / lens[:, None]
    pts = []
    done = 0.0
    for i in range(len(seg)):
        n_i = max(2, int(lens[i] / 4.0))
        last = i == len(seg) - 1
        for u in np.linspace(0.0, 1.0, n_i + 1 if last else n_i, endpoint=last):
            nb = normals[i]
            if u == 0.0 and i > 0:
                # At a vertex, offset along the bisector so the chords on either side
                # stay within ``amp`` of both segments.
                nb = normals[i - 1] + normals[i]
                nb = nb / np.linalg.norm(nb)
            s = (done + u * lens[i]) / length
            pts.append(line.points[i] + u * seg[i] + nb * sgn * amp * math.cos(2 * math.pi * m * s))
        done += lens[i]
    t0 = line.points[1] - line.points[0]
    t0 /= np.linalg.norm(t0)
    t1 = line.points[-1] - line.points[-2]
    t1 /= np.linalg.norm(t1)
    first = pts[0] - t0 * max(exit_distance(pts[0], -t0, W, H, w, h), 3 * spec.margin_px)
    last = pts[-1] + t1 * max(exit_distance(pts[-1], t1, W, H, w, h), 3 * spec.margin_px)
    ks = [(first, 0)] + [(p, 0) for p in pts] + [(last, 0)]
    if a.at > 0.5:  # walk the other way for variety
        ks = ks[::-1]
    return ks


def _facing(pos: np.ndarray) -> np.ndarray:
    dx = np.sign(np.diff(pos[:, 0], append=pos[-1, 0]))
    idx = np.where(dx != 0, np.arange(len(dx)), 0)
    np.maximum.accumulate(idx, out=idx)
    f = dx[idx]
    first = np.flatnonzero(dx)
    f[f == 0] = dx[first[0]] if len(first) else 1.0
    return f.astype(np.int8)


def default_speed(kind: str, spec: SceneSpec) -> float:
    person_px = spec.person_height * spec.height
    return SPEED_MPS[kind] * person_px / PERSON_M / float(spec.fps)


def plan_actors(spec: SceneSpec, line: Polyline) -> list[ActorPlan]:
    """Expand the spec's actors (groups into members) into trajectories, ids from 1."""
    person_px = spec.person_height * spec.height
    plans: list[ActorPlan] = []
    next_id = 1
    for i, a in enumerate(spec.actors):
        bw, bh = BODY[a.kind]
        w, h = bw * person_px * a.scale, bh * person_px * a.scale
        speed = a.speed if a.speed is not None else default_speed(a.kind, spec)
        base = sample_path(_knots(a, spec, line, w, h, speed), speed)
        start = round(a.start_s * float(spec.fps))
        rng = np.random.default_rng([spec.seed, 7919, i])
        n_members = a.members if a.kind == "group" else 1
        heading = base[min(len(base) - 1, 1)] - base[0]
        norm = float(np.linalg.norm(heading)) or 1.0
        perp = np.array([-heading[1], heading[0]]) / norm
        for k in range(n_members):
            # Whole frames per member, so every consecutive pair (not just the leader and
            # each member) is at least the spacing apart.
            delay = k * math.ceil(GROUP_SPACING * max(w, h) / speed)
            lateral = 0.0 if k == 0 else float(rng.uniform(-0.2, 0.2)) * h
            pos = base + perp * lateral
            steps = np.sqrt((np.diff(pos, axis=0) ** 2).sum(1))
            plans.append(
                ActorPlan(
                    actor_id=next_id,
                    spec_index=i,
                    spec=a,
                    speed=speed,
                    width=w,
                    height=h,
                    start_frame=start + delay,
                    pos=pos,
                    travelled=np.concatenate([[0.0], np.cumsum(steps)]),
                    facing=_facing(pos),
                    group=i if a.kind == "group" else None,
                    extra={"off_x": float(perp[0] * lateral), "off_y": float(perp[1] * lateral)},
                )
            )
            next_id += 1
    _visibility(plans, spec.width, spec.height, spec.frames)
    return plans


def _visibility(plans: list[ActorPlan], W: int, H: int, n_frames: int) -> None:
    for p in plans:
        x, y = p.pos[:, 0], p.pos[:, 1]
        vis = (x + p.width / 2 >= 0) & (x - p.width / 2 < W) & (y >= 0) & (y - p.height < H)
        frames = np.flatnonzero(vis) + p.start_frame
        frames = frames[frames < n_frames]
        if len(frames):
            p.first_visible, p.last_visible = int(frames[0]), int(frames[-1])


def occluder_rects(spec: SceneSpec, line: Polyline, plans: list[ActorPlan]) -> list[tuple[int, int, int, int]]:
    """Rectangles (x0, y0, x1, y1) a foreground bush must cover for ``occluded`` actors.

    Each covers the actor's whole body while its ground point is within ``s`` of the
    place it meets the line, so the crossing is unseen for about ``2 s / speed`` frames
    (at least five).
    """
    rects = []
    for i, a in enumerate(spec.actors):
        if not a.occluded:
            continue
        members = [p for p in plans if p.spec_index == i]
        lead = members[0]
        center, tangent, n_b = point_at(line, a.at)
        if a.behavior == "wander":
            sgn = -1.0 if (a.from_side or spec.line.sides[0]) == spec.line.sides[0] else 1.0
            center = center + n_b * sgn * a.offset * spec.diagonal
        # Heading where the path passes the center: the step nearest to it.
        k = int(np.argmin(((lead.pos - center) ** 2).sum(1)))
        k = min(k, len(lead.pos) - 2)
        u = lead.pos[k + 1] - lead.pos[k] if len(lead.pos) > 1 else tangent
        u = u / (np.linalg.norm(u) or 1.0)
        s = min(max(2.5 * lead.speed, 0.3 * lead.height), 0.2 * spec.diagonal)
        pad = 0.05 * lead.height
        xs, ys = [], []
        for m in members:
            off = np.array([m.extra.get("off_x", 0.0), m.extra.get("off_y", 0.0)])
            for end in (-1.0, 1.0):
                g = center + off + end * s * u
                xs += [g[0] - m.width / 2, g[0] + m.width / 2]
                ys += [g[1] - m.height, g[1]]
        rects.append(
            (
                int(math.floor(min(xs) - pad)),
                int(math.floor(min(ys) - pad)),
                int(math.ceil(max(xs) + pad)),
                int(math.ceil(max(ys) + pad)),
            )
        )
    return rects
