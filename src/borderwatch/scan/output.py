"""Scan output directory: records written as they happen, summary written last.

Layout of DIR::

    crossings.jsonl     one JSON object per crossing, appended and flushed at once
    events.jsonl        whole-image light changes and decode gaps, as they happen
    coverage.jsonl      camera health per time bucket, a few seconds behind the scan
    tracks.jsonl        every track's boxes over time (pieces of up to 500 observations,
                        written when a track ends), for time-lapse overlays and review
    ledger.jsonl        every record above (and the source files, their GOP hashes and
                        the settings), hash-chained; ends with an "end" record
    snapshots/          one JPEG per crossing
    summary.json        {"status": "running"} at start; replaced atomically at the end
                        by the full summary with status "complete" or "partial"
                        (or "interrupted"/"failed").

A scan is only complete when ``summary.json`` says so: a crash leaves
``status: running`` (or ``failed``), never a summary that looks finished. The final
summary carries the ledger's head hash, and the ledger's end record the summary's
digest, so neither can be changed without the other showing it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from ..errors import OutputError
from ..ledger import LedgerWriter, summary_digest
from ..records import Crossing

_OUR_FILES = ("crossings.jsonl", "events.jsonl", "coverage.jsonl", "tracks.jsonl", "ledger.jsonl", "summary.json")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and rename (never half-written)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ScanOutput:
    """Owns the files of one scan's output directory."""

    def __init__(self, out_dir: str | Path, snapshots: bool = True) -> None:
        self.dir = Path(out_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            for name in _OUR_FILES:
                (self.dir / name).unlink(missing_ok=True)
            snap = self.dir / "snapshots"
            if snap.is_dir():
                for f in snap.glob("crossing_*.jpg"):
                    f.unlink()
            self.snap_dir = snap if snapshots else None
            if self.snap_dir is not None:
                self.snap_dir.mkdir(exist_ok=True)
            write_json_atomic(self.dir / "summary.json", {"status": "running"})
            self._crossings: IO[str] = open(self.dir / "crossings.jsonl", "w", encoding="utf-8")
            self._events: IO[str] = open(self.dir / "events.jsonl", "w", encoding="utf-8")
            self._coverage: IO[str] = open(self.dir / "coverage.jsonl", "w", encoding="utf-8")
            self._tracks: IO[str] = open(self.dir / "tracks.jsonl", "w", encoding="utf-8")
            self.ledger = LedgerWriter(self.dir / "ledger.jsonl")
        except OSError as exc:
            raise OutputError(f"cannot write to output directory {self.dir}: {exc.strerror or exc}") from None

    def crossing(self, c: Crossing) -> None:
        rec = c.to_dict()
        self._crossings.write(json.dumps(rec) + "\n")
        self._crossings.flush()
        self.ledger.append("crossing", rec)

    def event(self, kind: str, **fields: Any) -> None:
        rec = {"kind": kind, **fields}
        self._events.write(json.dumps(rec, default=str) + "\n")
        self._events.flush()
        self.ledger.append("gap" if kind == "decode_gap" else "event", rec)

    def bucket(self, record: dict[str, Any]) -> None:
        self._coverage.write(json.dumps(record) + "\n")
        self._coverage.flush()
        self.ledger.append("bucket", record)

    def track(self, record: dict[str, Any]) -> None:
        self._tracks.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._tracks.flush()
        self.ledger.append("track", record)

    def snapshot(self, crossing_id: int, bgr: np.ndarray) -> str | None:
        """Save a crossing snapshot; returns its path relative to the output dir."""
        if self.snap_dir is None:
            return None
        name = f"crossing_{crossing_id:05d}.jpg"
        if not cv2.imwrite(str(self.snap_dir / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 88]):
            raise OutputError(f"cannot write snapshot {self.snap_dir / name}")
        return f"snapshots/{name}"

    def finish(self, summary: dict[str, Any]) -> None:
        """Seal the ledger with the summary's digest, then write the summary with the
        ledger's head."""
        digest = summary_digest(summary)
        head = self.ledger.finish(str(summary.get("status")), summary_sha256=digest)
        summary["ledger"] = {"head": head, "records": self.ledger.count}
        self.close()
        write_json_atomic(self.dir / "summary.json", summary)

    def close(self) -> None:
        for f in (self._crossings, self._events, self._coverage, self._tracks):
            if not f.closed:
                f.close()
        self.ledger.close()
