"""Coverage: what part of a scan's time the camera could actually see, and why not.

``intervals`` holds the interval arithmetic shared by the report and eval;
``report`` reads a scan output folder into a :class:`~.report.CoverageAccount` and
turns it into text, statements of (absence of) crossings, JSON and a timeline PNG.
See ``docs/coverage.md``. Nothing here imports the pipeline, and matplotlib is only
imported when a PNG is drawn.
"""
