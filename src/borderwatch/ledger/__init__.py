"""Tamper-evident record of a scan: a hash-chained ledger and per-GOP picture hashes.

See docs/coverage.md (sections ``ledger.jsonl`` and "GOP hashes").
"""

from __future__ import annotations

from .chain import (
    ZERO_HASH,
    ChainProblem,
    ChainReport,
    LedgerWriter,
    canonical,
    read_ledger,
    record_hash,
    summary_digest,
    verify_chain,
)
from .gop import GopHasher, GopRecord, file_sha256, gop_hashes, source_data

__all__ = [
    "ZERO_HASH",
    "ChainProblem",
    "ChainReport",
    "GopHasher",
    "GopRecord",
    "LedgerWriter",
    "canonical",
    "file_sha256",
    "gop_hashes",
    "read_ledger",
    "record_hash",
    "source_data",
    "summary_digest",
    "verify_chain",
]
