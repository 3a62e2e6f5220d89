"""The scan: footage in, crossing records and a summary out."""

from .pipeline import ScanResult, Scanner, run_scan

__all__ = ["ScanResult", "Scanner", "run_scan"]
