"""Seeded, deterministic border scenes with exact ground truth: the test-data factory.

API::

    from borderwatch.synth import generate, presets, SceneSpec, ActorSpec
    spec = presets.PRESETS["back_and_forth"](seed=7, width=640, height=360)
    truth = generate(spec, Path("clip.mp4"))       # also writes clip.truth.json
    truth.crossings[0].frame, truth.crossings[0].time_s

    spec = SceneSpec(actors=[ActorSpec(kind="walk", from_side="B", at=0.3)])
    Renderer(spec).truth("x.mp4")                  # truth without rendering
    for img in Renderer(spec).frames(): ...        # BGR frames without encoding

Scene: textured ground, a cleared sand strip along the border, posts, swaying trees and
bushes, sensor noise, slow light drift; optional sudden light switch, camera shake,
rain/snow and a grey infrared night look (``Effects``). Actors (``ActorSpec.kind``):
walk, run, crawl (low, wide), vehicle, animal (horizontal body), group. Behaviours:
cross, loiter (stand on the line, turn back), back_and_forth, along_line (wobble over
the line by <= 0.6 % of the diagonal, never past the 1 % margin), wander (move along
one side). ``occluded=True`` puts a foreground bush over the point where the actor
meets the line, hiding it for at least ~5 frames.

**Groups** are separate people following one path, each ``GROUP_SPACING`` (1.5) body
sizes (the larger of height and width) behind the previous one along the direction of
travel, with a small sideways jitter, so that they appear as separable blobs.

**Positions** are ground-contact points: the bottom centre of the drawn shape; every
shape is drawn symmetric in extent about that point, with 1/16 px precision.
Coordinates are pixel centres (OpenCV's drawing convention): the shape's lowest pixel
row is the one whose centre is nearest the ground y, so a box measured with
``cv2.boundingRect`` has ``y + h`` about one pixel below the ground point.

**Crossing rule** (also stored in each truth file as ``crossing_rule``): a crossing
happens when an actor's ground point goes from more than ``margin_px`` (1 % of the
image diagonal) on one side of the line to more than ``margin_px`` on the other, and
its path between those moments passes through the bounded polyline (not around an
end). ``frame`` is the first frame of the final run of frames strictly on the far side
before it got past the margin (for a clean walk: the first frame strictly past the
line); ``time_s = frame / fps`` exactly (pts * time_base). Side decisions use
:class:`borderwatch.geometry.Polyline`, the same code the scanner uses. An actor hidden
at that frame still counts, with ``occluded: true``. Actors with no crossing are listed
as ``distractors``.

**Camera faults** (``SceneSpec.faults``, ``FaultSpec``; module :mod:`.faults`): cover,
freeze, defocus, knock, glare (in the pixels), drop (frames not written) and corrupt
(coded pictures overwritten after encoding). A frame at ``t = i / fps`` is faulted when
``start_s <= t < end_s``; the truth lists each fault once as ``{"kind", "cause",
"start_s", "end_s"}`` (frame-exact source seconds, ``end_s`` the clip end when open), and
a crossing whose frame is hidden (drop, corrupt, cover, freeze) carries ``during_fault``
= that cause. docs/coverage.md describes each fault exactly.

Time: the frame rate is a :class:`fractions.Fraction`; MP4 frames have ``pts = index``
in time base ``1/fps`` (the muxer may re-express the time base, e.g. 1/12800, with the
same exact times). Same seed and spec: same truth JSON and identical frames (and, with
the fixed x264 thread count and ``cpu-independent``, identical files).
"""

from __future__ import annotations

from . import presets
from .paths import GROUP_SPACING
from .presets import PRESETS, preset
from .render import Renderer
from .spec import ActorSpec, Effects, FaultSpec, LineSpec, SceneSpec, make_spec
from .truth import CROSSING_RULE, Truth, find_crossings
from .writer import generate, truth_path_for

__all__ = [
    "ActorSpec",
    "CROSSING_RULE",
    "Effects",
    "FaultSpec",
    "GROUP_SPACING",
    "LineSpec",
    "PRESETS",
    "Renderer",
    "SceneSpec",
    "Truth",
    "find_crossings",
    "generate",
    "make_spec",
    "preset",
    "presets",
    "truth_path_for",
]
