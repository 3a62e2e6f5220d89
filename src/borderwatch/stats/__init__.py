"""Border statistics: CBP's and DHS OHSS's public files in an embedded DuckDB store.

See docs/stats.md. Modules: :mod:`.datasets` (read and validate files), :mod:`.store`
(the store: load, releases, diff), :mod:`.fetch` (download with retries and provenance).
"""

from __future__ import annotations

from .datasets import DATASETS, DataFormatError, ParsedFile, StatsError, WrongDataset, detect, read_file

__all__ = ["DATASETS", "DataFormatError", "ParsedFile", "StatsError", "WrongDataset", "detect", "read_file"]
