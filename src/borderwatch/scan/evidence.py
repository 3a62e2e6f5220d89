"""The scan's tamper-evident record: every output record also goes to ``ledger.jsonl``.

:class:`GopLogger` is the scan's :class:`~borderwatch.io.PacketObserver`: for each
source file it records the file (path, size, SHA-256) and then one ``gop`` record per
GOP of coded pictures, hashed while the decoder demuxes them (no second pass over the
video). See docs/coverage.md ("ledger.jsonl", "GOP hashes").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..ledger import GopHasher, LedgerWriter, source_data


class GopLogger:
    """Source and GOP records of every video file the scan reads.

    Records made before :meth:`attach` (the first packets are read when the source is
    opened, before the output folder exists) are kept and written on attach.
    """

    def __init__(self) -> None:
        self._ledger: LedgerWriter | None = None
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._hasher: GopHasher | None = None

    def attach(self, ledger: LedgerWriter) -> None:
        self._ledger = ledger
        for kind, data in self._pending:
            ledger.append(kind, data)
        self._pending = []

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        if self._ledger is None:
            self._pending.append((kind, data))
        else:
            self._ledger.append(kind, data)

    def source(self, path: Path, index: int, offset_s: float = 0.0) -> None:
        try:
            data = source_data(path, index, offset_s=offset_s)
        except OSError as exc:
            data = {"index": index, "path": str(path), "offset_s": offset_s, "error": f"cannot hash: {exc}"}
        self._append("source", data)

    # PacketObserver
    def begin_file(self, index: int, path: Path, stream: Any, offset_s: float) -> None:
        self.end_file()
        self.source(path, index, offset_s)
        self._hasher = GopHasher.from_stream(stream, offset_s=offset_s, source=index)

    def packet(self, packet: Any) -> None:
        if self._hasher is not None:
            for g in self._hasher.feed(packet):
                self._append("gop", g.to_data())

    def end_file(self) -> None:
        if self._hasher is not None:
            for g in self._hasher.finish():
                self._append("gop", g.to_data())
            self._hasher = None
