"""The scan: footage in, crossing records and a summary out.

The pipeline (and with it the tracker, supervision and SciPy, about a second of imports)
is loaded on first use, so modules that only need ``scan.output`` stay quick to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import ScanResult, Scanner, run_scan

__all__ = ["ScanResult", "Scanner", "run_scan"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
