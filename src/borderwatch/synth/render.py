"""Compose frames: background, actors (far ones first), foreground bushes, effects."""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

import numpy as np

from ..geometry import Polyline
from .actors import draw, pick_colors
from .faults import FrameFaults
from .paths import ActorPlan, line_px, occluder_rects, plan_actors
from .scene import Scene
from .spec import SceneSpec
from .truth import Truth, build_truth


class Renderer:
    """Plans a scene once, then yields its frames; ``truth()`` needs no rendering.

    >>> from borderwatch.synth import presets
    >>> r = Renderer(presets.PRESETS["walk"](seed=1, duration_s=2))
    >>> sum(1 for _ in r.frames())
    50
    """

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        self.line: Polyline = line_px(spec)
        self.line.check_inside(spec.width, spec.height)
        self.plans: list[ActorPlan] = plan_actors(spec, self.line)
        pick_colors(self.plans, spec.seed, spec.effects.night)
        self.scene = Scene(spec, self.line, occluder_rects(spec, self.line, self.plans))

    def occlusion_mask(self) -> np.ndarray | None:
        if not self.scene.occ:
            return None
        mask = np.zeros((self.spec.height, self.spec.width), bool)
        for (x0, y0, x1, y1), _, m in self.scene.occ:
            mask[y0:y1, x0:x1] |= m
        return mask

    def truth(self, video_name: str, fmt: str = "mp4") -> Truth:
        return build_truth(self.spec, self.line, self.plans, self.occlusion_mask(), video_name, fmt)  # type: ignore[arg-type]

    def frames(self) -> Iterator[np.ndarray]:
        """Yield each written frame as an (H, W, 3) BGR uint8 array.

        The array is reused: consume (encode or copy) it before asking for the next.
        Frames of a ``drop`` fault are not yielded; see :meth:`timed_frames`.
        """
        for _, img in self.timed_frames():
            yield img

    def timed_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for every frame written (all but dropped ones); pts = index."""
        spec = self.spec
        H, W = spec.height, spec.width
        buf = np.empty((H, W, 3), np.uint8)
        spare = np.empty_like(buf)
        night = spec.effects.night
        # Only plans ever visible are drawn, activated in order of their first frame.
        todo = sorted((p for p in self.plans if p.first_visible is not None), key=lambda p: p.first_visible or 0)
        nxt = 0
        active: list[ActorPlan] = []
        period = Fraction(1) / spec.fps
        faults = FrameFaults(spec) if spec.faults else None
        for f in range(spec.frames):
            t = float(f * period)
            while nxt < len(todo) and todo[nxt].first_visible == f:
                active.append(todo[nxt])
                nxt += 1
            out: np.ndarray | None = None
            if faults is None or faults.needs_render(f):
                self.scene.background(f, t, buf)
                if active:
                    # Farther (higher on screen) first, so nearer actors overlap them.
                    active.sort(key=lambda p: p.pos[f - p.start_frame, 1])
                    boxes = []
                    for p in active:
                        k = f - p.start_frame
                        draw(buf, p, k, night)
                        boxes.append(p.bbox(k))
                    self.scene.occlude(buf, boxes)
                out = self.scene.finish(f, t, buf, spare, faults)
            if active:
                active = [p for p in active if (p.last_visible or 0) > f]
            if faults is not None:
                out = faults.output(f, out)
            if out is not None:
                yield f, out
