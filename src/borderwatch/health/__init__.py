"""Camera health and coverage: when was the camera really seeing the scene?

See docs/coverage.md for the signals, their thresholds and the output records.
"""

from .monitor import CAUSES, HealthMonitor

__all__ = ["CAUSES", "HealthMonitor"]
