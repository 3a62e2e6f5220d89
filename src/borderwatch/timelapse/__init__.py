"""`borderwatch timelapse`: a short, faithful time-lapse of a scan (docs/timelapse.md)."""

from . import schedule, timemap, tracks

__all__ = ["schedule", "timemap", "tracks"]
