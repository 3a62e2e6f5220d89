"""Wall-clock times from file names, container metadata and EXIF.

Naive times (a file name, EXIF without an offset tag) are camera-local times of unknown
zone. They are read in ``local_tz`` (UTC unless the caller knows better), which keeps
them exactly as written while still giving timezone-aware datetimes downstream.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

# 2026-01-01T12-00-00, 20260101_120000, 20260101-120000, 2026-01-01 12:00:00,
# optionally followed by fractional seconds. Digits must not run on either side, so a
# frame counter such as 000123 is never mistaken for a time.
_NAME_TS = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[T_\- ]?(\d{2})[-:_.]?(\d{2})[-:_.]?(\d{2})"
    r"(?:[.,_](\d{1,6}))?(?!\d)"
)

# Container creation times before this are unset fields (MP4's 1904 epoch, 1970 clocks).
_MIN_PLAUSIBLE = datetime(1980, 1, 1, tzinfo=UTC)


def time_from_name(name: str, local_tz: tzinfo = UTC) -> datetime | None:
    """The last valid date-time written in a file name, or None.

    >>> time_from_name("cam1_20260101_120000.mp4").isoformat()
    '2026-01-01T12:00:00+00:00'
    >>> time_from_name("2026-01-01T12-00-00.mkv").isoformat()
    '2026-01-01T12:00:00+00:00'
    >>> time_from_name("clip_0001.mp4") is None
    True
    """
    found: datetime | None = None
    for m in _NAME_TS.finditer(Path(name).stem):
        y, mo, d, h, mi, s, frac = m.groups()
        try:
            dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        except ValueError:
            continue  # 14 digits that are not a date (a serial number, say)
        if frac:
            dt += timedelta(microseconds=int(frac.ljust(6, "0")))
        found = dt.replace(tzinfo=local_tz)
    return found


def parse_creation_time(value: str | None) -> datetime | None:
    """Parse FFmpeg's ``creation_time`` tag (ISO 8601, usually UTC with ``Z``)."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # FFmpeg writes UTC; older muxers omit the Z
    return dt if dt >= _MIN_PLAUSIBLE else None


def parse_exif_time(
    value: str | None,
    subsec: str | None = None,
    offset: str | None = None,
    local_tz: tzinfo = UTC,
) -> datetime | None:
    """EXIF ``DateTimeOriginal`` ("YYYY:MM:DD HH:MM:SS") with sub-seconds and offset."""
    if not value:
        return None
    text = str(value).strip().rstrip("\x00")
    try:
        dt = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    digits = "".join(c for c in str(subsec or "") if c.isdigit())
    if digits:
        dt += timedelta(microseconds=int(digits[:6].ljust(6, "0")))
    tz: tzinfo = local_tz
    if offset:
        m = re.fullmatch(r"\s*([+-])(\d{2}):?(\d{2})\s*\x00*", str(offset))
        if m:
            sign = 1 if m.group(1) == "+" else -1
            tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    return dt.replace(tzinfo=tz)
