"""Crossing decision: trajectories in, crossing events out."""

from .counter import CrossEvent, LineCounter

__all__ = ["CrossEvent", "LineCounter"]
