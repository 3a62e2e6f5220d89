"""Download CBP's files by URL: retries, checksum, atomic write, provenance.

CBP's web site often refuses automated clients (HTTP 403, or a bot-check page instead of
the file). Then the user downloads the file in a browser and loads it by hand
(``borderwatch stats load FILE``); :class:`FetchRefused` says so.

Provenance: beside each downloaded file, ``FILE.provenance.json`` records the URL asked
for, the URL that answered (after redirects), the time, the SHA-256 and size, and the
server's ``Last-Modified``/``ETag``. :meth:`borderwatch.stats.store.Store.load` picks the
URL up from there when the file's SHA-256 still matches.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BorderwatchError

# Where each dataset is published. CBP renames its files every month (the suffix names the
# latest month) and moves them between upload folders, so these direct links are the last
# ones known and go stale: the pages below list the current link. Subject to change.
DATASET_PAGES: dict[str, str] = {
    "drug-seizures": "https://www.cbp.gov/document/stats/nationwide-drug-seizures",
    "encounters-aor": "https://www.cbp.gov/document/stats/nationwide-encounters",
    "encounters-state": "https://www.cbp.gov/document/stats/nationwide-encounters",
    "sbo-encounters": "https://www.cbp.gov/document/stats/southwest-land-border-encounters",
    "ohss-usbp": "https://ohss.dhs.gov/khsm/cbp-encounters",
}
KNOWN_URLS: dict[str, str] = {
    "drug-seizures": "https://www.cbp.gov/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv",
    "encounters-aor": "https://www.cbp.gov/sites/default/files/2025-11/nationwide-encounters-fy22-fy25-aor.csv",
    "encounters-state": "https://www.cbp.gov/sites/default/files/2025-11/nationwide-encounters-fy22-fy25-state.csv",
    "sbo-encounters": "https://www.cbp.gov/sites/default/files/2025-11/sbo-encounters-fy22-fy25.csv",
}  # the OHSS workbook has no stable direct link: download it from DATASET_PAGES["ohss-usbp"]

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
_ACCEPT = (
    "text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/octet-stream;q=0.9,*/*;q=0.8"
)
MAX_RETRY_AFTER_S = 120.0
_CHUNK = 1 << 16


class FetchError(BorderwatchError, OSError):
    """A download failed (after its retries)."""


class FetchRefused(FetchError):
    """The server refused an automated download: the user must download by hand."""


class ChecksumMismatch(FetchError):
    """The downloaded file's SHA-256 is not the one expected."""


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    """A downloaded file and where it came from."""

    path: Path
    url: str  # as asked for
    final_url: str  # after redirects
    fetched_at: str  # UTC, ISO 8601
    sha256: str
    size_bytes: int
    content_type: str | None
    last_modified: str | None
    etag: str | None
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def provenance_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".provenance.json")


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance recorded beside a downloaded file, or None."""
    try:
        data = json.loads(provenance_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resolve(target: str) -> tuple[str, str | None]:
    """``(url, dataset)`` for a dataset name (its known URL) or a URL (dataset None)."""
    if target in KNOWN_URLS:
        return KNOWN_URLS[target], target
    if target in DATASET_PAGES:
        raise FetchError(
            f"{target}: no direct download link is known; download the file in a browser from "
            f"{DATASET_PAGES[target]} and load it with `borderwatch stats load FILE`"
        )
    parsed = urllib.parse.urlparse(target)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return target, None
    raise FetchError(f"{target!r}: neither a dataset ({', '.join(DATASET_PAGES)}) nor an http(s) URL")


def _hand_download_hint(url: str, dataset: str | None) -> str:
    page = DATASET_PAGES.get(dataset or "") or _page_for(url)
    where = f" from {page}" if page else ""
    return f"download it in a web browser{where} and load it with `borderwatch stats load FILE`"


def _page_for(url: str) -> str | None:
    name = Path(urllib.parse.urlparse(url).path).name
    for key, prefix in (("drug-seizures", "nationwide-drugs"), ("encounters-aor", "nationwide-encounters"),
                        ("sbo-encounters", "sbo-encounters")):  # fmt: skip
        if name.startswith(prefix):
            return DATASET_PAGES[key]
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _file_name(url: str, filename: str | None) -> str:
    if filename:
        name = filename
    else:
        name = urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)
    name = re.sub(r"[^A-Za-z0-9._() -]+", "_", name).strip(" .")
    return name or "download"


def fetch(
    url: str,
    *,
    dest_dir: str | Path,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    sha256: str | None = None,
    filename: str | None = None,
    dataset: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download ``url`` into ``dest_dir`` and return the file's path (see :func:`fetch_file`)."""
    return fetch_file(
        url, dest_dir=dest_dir, retries=retries, backoff=backoff, timeout=timeout, sha256=sha256,
        filename=filename, dataset=dataset, sleep=sleep,
    ).path  # fmt: skip


def fetch_file(
    url: str,
    *,
    dest_dir: str | Path,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    sha256: str | None = None,
    filename: str | None = None,
    dataset: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Download ``url`` into ``dest_dir`` with a browser-like User-Agent.

    Connection errors, timeouts, a cut-short body, HTTP 5xx and 429 are retried up to
    ``retries`` times, waiting ``backoff * 2**n`` seconds (or the server's
    ``Retry-After``, at most :data:`MAX_RETRY_AFTER_S`). The body goes to a temporary file
    in ``dest_dir`` and is renamed into place only when complete (and, with ``sha256``,
    verified): an existing file of that name is replaced only by a good download.
    Provenance is written beside the file (``FILE.provenance.json``) and returned.

    Raises :class:`FetchRefused` for HTTP 403 or a web page instead of data (download by
    hand), :class:`ChecksumMismatch`, or :class:`FetchError`.
    """
    dest = Path(dest_dir).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"{dest}: cannot create the download folder ({exc.strerror or exc})") from None
    want = sha256.strip().lower() if sha256 else None
    if want is not None and not re.fullmatch(r"[0-9a-f]{64}", want):
        raise FetchError(f"--sha256 {sha256!r}: not a SHA-256 (64 hex digits)")
    target = dest / _file_name(url, filename)
    attempts = 0
    last_reason = ""
    while True:
        attempts += 1
        try:
            return _attempt(url, target, timeout, want, dataset, attempts)
        except _Retryable as exc:
            last_reason = str(exc)
            if attempts > retries:
                break
            wait = backoff * (2 ** (attempts - 1))
            if exc.retry_after is not None:
                wait = min(max(wait, exc.retry_after), MAX_RETRY_AFTER_S)
            sleep(wait)
    raise FetchError(f"{url}: download failed after {attempts} attempt(s): {last_reason}")


def _attempt(url: str, target: Path, timeout: float, want: str | None, dataset: str | None, attempts: int) -> Fetched:
    req = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT, "Accept-Language": "en-US,en;q=0.9"}
    )
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
        if code == 429 or 500 <= code < 600:
            raise _Retryable(f"HTTP {code} {exc.reason}", _retry_after(exc.headers.get("Retry-After"))) from None
        if code in (401, 403):
            raise FetchRefused(
                f"{url}: the server refused the download (HTTP {code}); CBP's site often blocks automated "
                f"clients: {_hand_download_hint(url, dataset)}"
            ) from None
        if code in (404, 410):
            raise FetchError(
                f"{url}: not found (HTTP {code}); CBP renames its files every month: find the current link "
                f"and pass it (`borderwatch stats fetch URL`), or {_hand_download_hint(url, dataset)}"
            ) from None
        raise FetchError(f"{url}: HTTP {code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, urllib.error.URLError) and not isinstance(
            reason, OSError | TimeoutError | socket.timeout | ConnectionError
        ):
            raise FetchError(f"{url}: {reason}") from None
        raise _Retryable(f"connection error: {reason}") from None

    with resp:
        ctype = resp.headers.get("Content-Type")
        if ctype and ctype.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
            raise FetchRefused(
                f"{url}: the server sent a web page instead of the data file (probably a bot check); "
                f"{_hand_download_hint(url, dataset)}"
            )
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                    raise _Retryable(f"connection lost after {size} bytes: {exc}") from None
                if expected is not None and size != expected:
                    raise _Retryable(f"got {size} bytes of {expected}: the body was cut short")
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if want is not None and got != want:
                raise ChecksumMismatch(
                    f"{url}: checksum mismatch: expected SHA-256 {want}, got {got}; the file was not kept "
                    "(CBP may have published a new version)"
                )
            fetched = Fetched(
                path=target,
                url=url,
                final_url=resp.geturl() or url,
                fetched_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                sha256=got,
                size_bytes=size,
                content_type=ctype,
                last_modified=resp.headers.get("Last-Modified"),
                etag=resp.headers.get("ETag"),
                attempts=attempts,
            )
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _write_provenance(fetched)
    return fetched


def _write_provenance(f: Fetched) -> None:
    prov = provenance_path(f.path)
    d = f.to_dict()
    d["path"] = f.path.name
    fd, tmp = tempfile.mkstemp(prefix=f".{prov.name}.", suffix=".part", dir=prov.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(d, out, indent=2)
            out.write("\n")
        os.replace(tmp, prov)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
