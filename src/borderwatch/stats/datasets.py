"""Readers for CBP's and DHS OHSS's public border-statistics files.

One entry point, :func:`read_file`: it detects the dataset from the file's header (or, for
the OHSS workbook, its sheets), validates every row and returns the rows normalised to the
columns of the store's tables (docs/stats.md, "Schema"). Nothing is written anywhere: the
store (:mod:`borderwatch.stats.store`) decides what to do with a :class:`ParsedFile`.

Every problem is reported with the file, the line (or sheet and row) and the column;
:class:`DataFormatError` carries them as attributes too. A file is either valid as a
whole or rejected as a whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BorderwatchError

# ----------------------------------------------------------------------------- errors


class StatsError(BorderwatchError, ValueError):
    """A statistics file, store or request is unusable (bad input: exit status 2)."""


class DataFormatError(StatsError):
    """A file does not have the format of the dataset it claims (or any we know).

    ``str()`` is one line naming the file, the line (or sheet and row) and the column of
    the first problem; :attr:`problems` lists every problem found (at most
    :data:`MAX_PROBLEMS`), each as ``(line, column, message)``.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
        sheet: str | None = None,
        more: int = 0,
        problems: Sequence[tuple[int | None, str | None, str]] = (),
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.sheet = sheet
        self.problems = list(problems) or [(line, column, message)]
        where = str(path)
        if sheet is not None:
            where += f", sheet {sheet!r}"
        if line is not None:
            where += f", {'row' if sheet is not None else 'line'} {line}"
        if column is not None:
            where += f", column {column}"
        text = f"{where}: {message}"
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        super().__init__(text)


class WrongDataset(DataFormatError):
    """The file is not one of the datasets borderwatch reads, or not the one expected."""


MAX_PROBLEMS = 20

# ----------------------------------------------------------------------------- constants

DATASETS: dict[str, str] = {
    "drug-seizures": "CBP Nationwide Drug Seizures",
    "encounters-aor": "CBP Nationwide Encounters by area of responsibility",
    "encounters-state": "CBP Nationwide Encounters by state",
    "sbo-encounters": "CBP Southwest Land Border Encounters",
    "ohss-usbp": "DHS OHSS Border Patrol (USBP) encounters workbook",
}
TABLE_OF: dict[str, str] = {
    "drug-seizures": "drug_seizures",
    "encounters-aor": "encounters",
    "encounters-state": "encounters",
    "sbo-encounters": "encounters",
    "ohss-usbp": "encounters",
}
# Columns of each table as the store holds them (release_id is added by the store).
DRUG_COLUMNS = ("line", "fy", "fytd", "month", "component", "region", "land_only", "aor", "drug", "events", "lbs")
ENCOUNTER_COLUMNS = (
    "line", "fy", "fytd", "month", "component", "region", "aor", "state",
    "demographic", "citizenship", "title", "encounter_type", "count",
)  # fmt: skip
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {"drug_seizures": DRUG_COLUMNS, "encounters": ENCOUNTER_COLUMNS}

# Fiscal-year order: FY N starts in October of calendar year N-1.
FY_MONTHS = ("OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP")
_MONTH_NAMES = (
    "october", "november", "december", "january", "february", "march",
    "april", "may", "june", "july", "august", "september",
)  # fmt: skip

COMPONENTS = {"office of field operations": "OFO", "ofo": "OFO", "u.s. border patrol": "USBP", "usbp": "USBP"}
DRUG_REGIONS = {r.casefold(): r for r in ("Coastal/Interior", "Northern Border", "Southwest Border")}
LAND_FILTERS = {"land only": True, "other": False}
DRUG_TYPES = {
    d.casefold(): d
    for d in (
        "Cocaine", "Ecstasy", "Fentanyl", "Heroin", "Ketamine", "Khat (Catha Edulis)",
        "Lsd", "Marijuana", "Methamphetamine", "Other Drugs**",
    )
}  # fmt: skip
ENCOUNTER_REGIONS = {r.casefold(): r for r in ("Northern Land Border", "Southwest Land Border", "Other")}
OHSS_REGIONS = {"coastal border": "Other", "northern land border": "Northern Land Border",
                "southwest land border": "Southwest Land Border"}  # fmt: skip
TITLES = {"title 8": "Title 8", "title 42": "Title 42"}
ENCOUNTER_TYPES = {t.casefold(): t for t in ("Apprehensions", "Expulsions", "Inadmissibles")}
MONTH_GROUPINGS = {"fytd", "remaining"}

FY_MIN, FY_MAX = 1990, 2100

# ----------------------------------------------------------------------------- results


@dataclass
class ParsedFile:
    """A validated file, normalised to one table of the store."""

    path: Path
    dataset: str
    table: str
    sha256: str
    size_bytes: int
    columns: dict[str, list[Any]]  # the table's columns (TABLE_COLUMNS[table]), one list each
    rows: int
    fy_first: int | None
    fy_last: int | None
    first_month: dt.date | None
    last_month: dt.date | None
    fytd_years: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def release_id(self) -> str:
        return self.sha256[:12]

    @property
    def label(self) -> str:
        """E.g. ``FY2023-FY2026 (Dec 2025)``: fiscal years covered and the latest month."""
        if self.fy_first is None or self.fy_last is None:
            return ""
        span = f"FY{self.fy_first}" if self.fy_first == self.fy_last else f"FY{self.fy_first}-FY{self.fy_last}"
        return f"{span} ({self.last_month:%b %Y})" if self.last_month else span

    def records(self) -> Iterable[dict[str, Any]]:
        """The rows as dicts (slow; for inspection and tests)."""
        names = list(self.columns)
        for values in zip(*(self.columns[n] for n in names), strict=True):
            yield dict(zip(names, values, strict=True))


def calendar_month(fy: int, fy_month_index: int) -> dt.date:
    """First day of the calendar month of fiscal year ``fy``'s month ``fy_month_index`` (0 = OCT)."""
    month = (fy_month_index + 9) % 12 + 1
    return dt.date(fy - 1 if fy_month_index < 3 else fy, month, 1)


def fiscal_year_of(month: dt.date) -> int:
    """The fiscal year a calendar month belongs to (October starts the next FY)."""
    return month.year + 1 if month.month >= 10 else month.year


_FY_RE = re.compile(r"^\s*(?:FY\s*)?(\d{4})\s*(\(\s*FYTD\s*\))?\s*$", re.IGNORECASE)


def parse_fiscal_year(text: object) -> tuple[int, bool]:
    """``'2024'`` -> (2024, False); ``'2026 (FYTD)'`` -> (2026, True); anything else: ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        fy, fytd = text, False
    elif isinstance(text, float) and text.is_integer():
        fy, fytd = int(text), False
    else:
        m = _FY_RE.match(str(text))
        if not m:
            raise ValueError(f"fiscal year {str(text)!r} is not a year like 2024 or '2026 (FYTD)'")
        fy, fytd = int(m.group(1)), m.group(2) is not None
    if not FY_MIN <= fy <= FY_MAX:
        raise ValueError(f"fiscal year {fy} is out of range ({FY_MIN}-{FY_MAX})")
    return fy, fytd


# ----------------------------------------------------------------------------- value checks


class _Bad(Exception):
    """One cell is invalid (message without the location)."""


_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
_THOUSANDS_DEC = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


def _count(raw: str) -> int:
    s = raw.strip()
    try:
        v = int(s)
    except ValueError:
        if _THOUSANDS.match(s):
            v = int(s.replace(",", ""))
        else:
            raise _Bad(f"not a whole number: {raw!r}" if s else "empty (a count is required)") from None
    if "_" in s:
        raise _Bad(f"not a whole number: {raw!r}")
    if v < 0:
        raise _Bad(f"negative count: {raw!r}")
    return v


def _weight(raw: str) -> float:
    s = raw.strip()
    try:
        v = float(s)
    except ValueError:
        if _THOUSANDS_DEC.match(s):
            v = float(s.replace(",", ""))
        else:
            raise _Bad(f"not a number: {raw!r}" if s else "empty (a weight in lbs is required)") from None
    if "_" in s or not math.isfinite(v):
        raise _Bad(f"not a number: {raw!r}")
    if v < 0:
        raise _Bad(f"negative weight: {raw!r}")
    return v


def _category(known: dict[str, Any], what: str, shown: Sequence[str] | None = None) -> Callable[[str], Any]:
    listed = ", ".join(repr(v) for v in (shown if shown is not None else dict.fromkeys(known.values())))

    def convert(raw: str) -> Any:
        try:
            return known[raw.strip().casefold()]
        except KeyError:
            raise _Bad(f"unknown {what} {raw!r} (expected one of {listed})") from None

    return convert


def _component(raw: str) -> str:
    try:
        return COMPONENTS[raw.strip().casefold()]
    except KeyError:
        raise _Bad(
            f"unknown component {raw!r} (expected 'Office of Field Operations' or 'U.S. Border Patrol')"
        ) from None


def _text(raw: str) -> str:
    s = raw.strip()
    if not s:
        raise _Bad("empty")
    return s


def _month_grouping(raw: str) -> None:
    if raw.strip().casefold() not in MONTH_GROUPINGS:
        raise _Bad(f"unknown month grouping {raw!r} (expected 'FYTD' or 'Remaining')")


_MONTH_INDEX = {m.casefold(): i for i, m in enumerate(FY_MONTHS)}


def _month_index(raw: str) -> int:
    try:
        return _MONTH_INDEX[raw.strip().casefold()]
    except KeyError:
        raise _Bad(f"unknown month {raw!r} (expected a three-letter abbreviation, OCT ... SEP)") from None


# ----------------------------------------------------------------------------- CSV formats


@dataclass(frozen=True)
class _Col:
    name: str  # header as CBP publishes it
    out: str | None  # target column; None: validated, then dropped
    convert: Callable[[str], Any]
    required: bool = True


@dataclass(frozen=True)
class _Format:
    dataset: str
    fy: str  # header of the fiscal-year column
    month: str  # header of the month column
    cols: tuple[_Col, ...]
    fixed: tuple[tuple[str, Any], ...] = ()  # constant output columns

    @property
    def known(self) -> dict[str, _Col]:
        return {c.name.casefold(): c for c in self.cols}


def _fy_col(name: str) -> _Col:
    return _Col(name, None, lambda s: s)  # parsed by the reader itself (with FYTD)


_FORMATS: tuple[_Format, ...] = (
    _Format(
        "drug-seizures", "FY", "Month (abbv)",
        (
            _fy_col("FY"),
            _Col("Month (abbv)", None, _month_index),
            _Col("Component", "component", _component),
            _Col("Region", "region", _category(DRUG_REGIONS, "region")),
            _Col("Land Filter", "land_only", _category(LAND_FILTERS, "land filter", ("Land Only", "Other"))),
            _Col("Area of Responsibility", "aor", _text),
            _Col("Drug Type", "drug", _category(DRUG_TYPES, "drug type")),
            _Col("Count of Event", "events", _count),
            _Col("Sum Qty (lbs)", "lbs", _weight),
        ),
    ),
    _Format(
        "encounters-aor", "Fiscal Year", "Month (abbv)",
        (
            _fy_col("Fiscal Year"),
            _Col("Month Grouping", None, _month_grouping, required=False),
            _Col("Month (abbv)", None, _month_index),
            _Col("Component", "component", _component),
            _Col("Land Border Region", "region", _category(ENCOUNTER_REGIONS, "land border region")),
            _Col("Area of Responsibility", "aor", _text),
            _Col("AOR (Abbv)", None, _text, required=False),
            _Col("Demographic", "demographic", _text),
            _Col("Citizenship", "citizenship", _text),
            _Col("Title of Authority", "title", _category(TITLES, "title of authority")),
            _Col("Encounter Type", "encounter_type", _category(ENCOUNTER_TYPES, "encounter type")),
            _Col("Encounter Count", "count", _count),
        ),
    ),
    _Format(
        "encounters-state", "Fiscal Year", "Month (abbv)",
        (
            _fy_col("Fiscal Year"),
            _Col("Month Grouping", None, _month_grouping, required=False),
            _Col("Month (abbv)", None, _month_index),
            _Col("Component", "component", _component, required=False),
            _Col("Land Border Region", "region", _category(ENCOUNTER_REGIONS, "land border region")),
            _Col("State", "state", _text),
            _Col("Demographic", "demographic", _text),
            _Col("Citizenship", "citizenship", _text),
            _Col("Title of Authority", "title", _category(TITLES, "title of authority")),
            _Col("Encounter Type", "encounter_type", _category(ENCOUNTER_TYPES, "encounter type"), required=False),
            _Col("Encounter Count", "count", _count),
        ),
    ),
    _Format(
        "sbo-encounters", "Fiscal Year", "Month (abbv)",
        (
            _fy_col("Fiscal Year"),
            _Col("Month Grouping", None, _month_grouping, required=False),
            _Col("Month (abbv)", None, _month_index),
            _Col("Component", "component", _component),
            _Col("Area of Responsibility", "aor", _text, required=False),
            _Col("Demographic", "demographic", _text),
            _Col("Citizenship Grouping", "citizenship", _text),
            _Col("Title of Authority", "title", _category(TITLES, "title of authority")),
            _Col("Encounter Type", "encounter_type", _category(ENCOUNTER_TYPES, "encounter type")),
            _Col("Encounter Count", "count", _count),
        ),
        fixed=(("region", "Southwest Land Border"),),
    ),
)  # fmt: skip
_FORMAT_OF = {f.dataset: f for f in _FORMATS}


def _norm_header(h: object) -> str:
    return " ".join(str(h or "").replace("\ufeff", "").split())


def _col_name(i: int, name: str) -> str:
    return f"{i + 1} ({name!r})"


def _match_format(path: Path, header: list[str], expect: str | None) -> _Format:
    """The format whose columns the header matches best; a clear error when none fits."""
    keys = [h.casefold() for h in header]
    best: tuple[int, _Format] | None = None
    for fmt in _FORMATS:
        known = fmt.known
        score = sum(1 for k in keys if k in known) - sum(1 for k in keys if k not in known)
        required = sum(1 for c in fmt.cols if c.required)
        if sum(1 for k in keys if k in known) * 2 < required:
            continue
        if best is None or score > best[0]:
            best = (score, fmt)
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    if best is None and header and header[0].lstrip().startswith("<"):
        raise WrongDataset(
            path,
            "this is a web page (HTML), not a data file: the site probably served a bot check or an error page; "
            "download the file again in a web browser",
            line=1,
        )
    if best is None:
        raise WrongDataset(
            path,
            f"not a file borderwatch can load: header ({shown}) matches none of: " + "; ".join(DATASETS.values()),
            line=1,
        )
    fmt = best[1]
    if expect is not None and fmt.dataset != expect:
        raise WrongDataset(
            path,
            f"this is a {DATASETS[fmt.dataset]} file ({fmt.dataset}), not the expected "
            f"{DATASETS.get(expect, expect)} ({expect})",
            line=1,
        )
    known = fmt.known
    problems: list[tuple[int | None, str | None, str]] = []
    seen: set[str] = set()
    for i, (h, k) in enumerate(zip(header, keys, strict=True)):
        if k in seen:
            problems.append((1, _col_name(i, h), f"column {h!r} appears twice"))
        seen.add(k)
        if k not in known:
            problems.append((1, _col_name(i, h), f"unexpected column {h!r} for a {DATASETS[fmt.dataset]} file"))
    for c in fmt.cols:
        if c.required and c.name.casefold() not in seen:
            problems.append(
                (1, None, f"missing column {c.name!r}: a {DATASETS[fmt.dataset]} file has {_expected(fmt)}")
            )
    if problems:
        line, col, msg = problems[0]
        raise DataFormatError(path, msg, line=line, column=col, more=len(problems) - 1, problems=problems)
    return fmt


def _expected(fmt: _Format) -> str:
    return ", ".join(c.name + ("" if c.required else " (optional)") for c in fmt.cols)


def _decode(path: Path, data: bytes) -> tuple[str, list[str]]:
    if b"\x00" in data[:4096]:
        raise WrongDataset(path, "not a text (CSV) file", line=None)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            line = data[: exc.start].count(b"\n") + 1
            raise DataFormatError(path, "not UTF-8 or Windows-1252 text", line=line) from None
        return text, ["read as Windows-1252 (not valid UTF-8)"]


def _read_csv(path: Path, data: bytes, expect: str | None) -> tuple[str, dict[str, list[Any]], list[str]]:
    text, notes = _decode(path, data)
    if not text.strip():
        raise DataFormatError(path, "the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header_row = next(reader)
    except csv.Error as exc:
        raise DataFormatError(path, f"not valid CSV ({exc})", line=reader.line_num or 1) from None
    header = [_norm_header(h) for h in header_row]
    fmt = _match_format(path, header, expect)
    known = fmt.known
    cols = [known[h.casefold()] for h in header]
    width = len(header)
    fy_i = next(i for i, c in enumerate(cols) if c.name == fmt.fy)
    month_i = next(i for i, c in enumerate(cols) if c.name == fmt.month)
    converters = [(i, c.convert, c.out, _col_name(i, c.name)) for i, c in enumerate(cols) if i not in (fy_i, month_i)]
    table = TABLE_OF[fmt.dataset]
    out: dict[str, list[Any]] = {name: [] for name in TABLE_COLUMNS[table]}
    present = {c.out for c in cols if c.out}
    missing_outs = [n for n in TABLE_COLUMNS[table] if n not in present and n not in ("line", "fy", "fytd", "month")]
    fixed = dict(fmt.fixed)
    fy_cache: dict[str, tuple[int, bool]] = {}
    month_cache: dict[tuple[int, int], dt.date] = {}
    fytd_of: dict[int, tuple[bool, int]] = {}  # fy -> (marked FYTD, first line seen)
    problems: list[tuple[int | None, str | None, str]] = []
    total_problems = 0
    fy_col = _col_name(fy_i, header[fy_i])
    month_col = _col_name(month_i, header[month_i])

    def bad(line: int, col: str | None, msg: str) -> None:
        nonlocal total_problems
        total_problems += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append((line, col, msg))

    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num
            msg = str(exc)
            if "unexpected end of data" in msg or "EOF" in msg:
                msg = "the file ends inside a quoted field: it looks truncated"
            else:
                msg = f"not valid CSV ({msg})"
            bad(line, None, msg)
            break
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            if len(row) < width:
                bad(
                    line,
                    _col_name(len(row), header[len(row)]) if len(row) else None,
                    f"only {len(row)} of {width} fields: the row is cut short (truncated or malformed file)",
                )
            else:
                bad(line, None, f"{len(row)} fields where the header has {width} (a stray comma or unquoted value?)")
            continue
        ok = True
        raw_fy = row[fy_i]
        fyv = fy_cache.get(raw_fy)
        if fyv is None:
            try:
                fyv = parse_fiscal_year(raw_fy)
            except ValueError as exc:
                bad(line, fy_col, str(exc))
                ok = False
            else:
                fy_cache[raw_fy] = fyv
        try:
            mi = _month_index(row[month_i])
        except _Bad as exc:
            bad(line, month_col, str(exc))
            ok = False
        values: list[tuple[str | None, Any]] = []
        for i, conv, name, colname in converters:
            try:
                values.append((name, conv(row[i])))
            except _Bad as exc:
                bad(line, colname, str(exc))
                ok = False
        if not ok or fyv is None:
            continue
        fy, fytd = fyv
        seen = fytd_of.get(fy)
        if seen is None:
            fytd_of[fy] = (fytd, line)
        elif seen[0] != fytd:
            bad(line, fy_col, f"FY{fy} is marked (FYTD) on some lines and not on others (first seen on line {seen[1]})")
            continue
        month = month_cache.get((fy, mi))
        if month is None:
            month = month_cache[(fy, mi)] = calendar_month(fy, mi)
        out["line"].append(line)
        out["fy"].append(fy)
        out["fytd"].append(fytd)
        out["month"].append(month)
        for name, value in values:
            if name:
                out[name].append(value)
        for name in missing_outs:
            out[name].append(fixed.get(name))
    if not problems and not text.endswith(("\n", "\r")):
        bad(line, None, "the last line has no line break: the file looks truncated (cut in the middle of a row)")
    if problems:
        first = problems[0]
        raise DataFormatError(
            path, first[2], line=first[0], column=first[1], more=total_problems - 1, problems=problems
        )
    if not out["line"]:
        raise DataFormatError(path, "no data rows after the header", line=2)
    if fmt.dataset == "encounters-state" and "encounter_type" in missing_outs:
        out["encounter_type"] = [_derived_type(c, t) for c, t in zip(out["component"], out["title"], strict=True)]
        notes.append("no Encounter Type column: derived from Title of Authority and Component where possible")
    return fmt.dataset, out, notes


def _derived_type(component: str | None, title: str) -> str | None:
    if title == "Title 42":
        return "Expulsions"
    return {"USBP": "Apprehensions", "OFO": "Inadmissibles"}.get(component or "")


# ----------------------------------------------------------------------------- OHSS workbook

OHSS_ANNUAL = "Annual Region"
OHSS_MONTHLY = "Monthly Region"
_OHSS_SHEETS = {
    OHSS_ANNUAL: ("Fiscal Year", "Region", "Quantity"),
    OHSS_MONTHLY: ("Fiscal Year", "Month", "Region", "Quantity"),
}
_OHSS_MONTH_RE = re.compile(r"^\s*(\d{1,2})\s+([A-Za-z]+)\s*$")


def _xlsx_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _read_ohss(path: Path, data: bytes, expect: str | None) -> tuple[str, dict[str, list[Any]], list[str]]:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StatsError(f"{path}: reading the OHSS workbook needs openpyxl ({exc})") from None
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises BadZipFile, KeyError, InvalidFileException, ...
        raise DataFormatError(path, f"not a readable Excel workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = list(wb.sheetnames)
        if OHSS_ANNUAL not in names:
            raise WrongDataset(
                path,
                f"not the DHS OHSS USBP encounters workbook: no sheet {OHSS_ANNUAL!r} "
                f"(sheets: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})",
            )
        if expect is not None and expect != "ohss-usbp":
            raise WrongDataset(
                path, f"this is a {DATASETS['ohss-usbp']} (ohss-usbp), not the expected {DATASETS.get(expect, expect)}"
            )
        sheets: dict[str, list[tuple[Any, ...]]] = {}
        for sheet in (OHSS_ANNUAL, OHSS_MONTHLY):
            if sheet in names:
                sheets[sheet] = [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()

    out: dict[str, list[Any]] = {name: [] for name in ENCOUNTER_COLUMNS}
    problems: list[tuple[int | None, str | None, str]] = []
    first_sheet: str | None = None
    total = 0

    def bad(sheet: str, row: int, col: int | None, msg: str) -> None:
        nonlocal first_sheet, total
        total += 1
        if first_sheet is None:
            first_sheet = sheet
        if len(problems) < MAX_PROBLEMS:
            cname = None if col is None else f"{_xlsx_letter(col)} ({_OHSS_SHEETS[sheet][col]!r})"
            problems.append((row, cname, msg if sheet == first_sheet else f"sheet {sheet!r}: {msg}"))

    parsed: dict[str, list[tuple[int, int, int | None, str, int]]] = {}  # row, fy, month index, region, n
    for sheet, rows in sheets.items():
        want = _OHSS_SHEETS[sheet]
        header = [_norm_header(h) for h in (rows[0] if rows else ())]
        while header and not header[-1]:
            header.pop()
        if [h.casefold() for h in header] != [w.casefold() for w in want]:
            bad(sheet, 1, None, f"header is {header!r}, expected {list(want)!r}")
            continue
        got: list[tuple[int, int, int | None, str, int]] = []
        for r, row in enumerate(rows[1:], start=2):
            cells = list(row[: len(want)]) + [None] * (len(want) - len(row))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                continue
            ok = True
            try:
                fy, _ = parse_fiscal_year(cells[0])
            except ValueError as exc:
                bad(sheet, r, 0, str(exc))
                ok = False
            mi: int | None = None
            if sheet == OHSS_MONTHLY:
                m = _OHSS_MONTH_RE.match(str(cells[1] or ""))
                if (
                    not m
                    or not 1 <= int(m.group(1)) <= 12
                    or _MONTH_NAMES[int(m.group(1)) - 1] != m.group(2).casefold()
                ):
                    bad(sheet, r, 1, f"month {cells[1]!r} is not like '01 October' ... '12 September'")
                    ok = False
                else:
                    mi = int(m.group(1)) - 1
            rc = len(want) - 2
            region = OHSS_REGIONS.get(str(cells[rc] or "").strip().casefold())
            if region is None:
                bad(sheet, r, rc, f"unknown region {cells[rc]!r} (expected 'Coastal Border', "
                    "'Northern Land Border' or 'Southwest Land Border')")  # fmt: skip
                ok = False
            q = cells[-1]
            n: int | None = None
            if isinstance(q, bool) or q is None:
                pass
            elif isinstance(q, int):
                n = q
            elif isinstance(q, float) and q.is_integer():
                n = int(q)
            elif isinstance(q, str):
                try:
                    n = _count(q)
                except _Bad:
                    n = None
            if n is None or n < 0:
                bad(sheet, r, len(want) - 1, f"not a whole number: {q!r}")
                ok = False
            if ok and region is not None and n is not None:
                got.append((r, fy, mi, region, n))
        parsed[sheet] = got
    if problems:
        first = problems[0]
        raise DataFormatError(
            path, first[2], line=first[0], column=first[1], sheet=first_sheet, more=total - 1, problems=problems
        )
    notes: list[str] = []
    monthly = parsed.get(OHSS_MONTHLY, [])
    annual = parsed.get(OHSS_ANNUAL, [])
    if not annual:
        raise DataFormatError(path, "no data rows", sheet=OHSS_ANNUAL, line=2)
    # The workbook does not mark the year in progress: a fiscal year with fewer than 12
    # months in the monthly sheet is one (its annual figure is a year-to-date figure).
    months_of: dict[int, set[int]] = {}
    for _, fy, mi, _, _ in monthly:
        months_of.setdefault(fy, set()).add(mi or 0)
    partial = {fy for fy, ms in months_of.items() if len(ms) < 12}
    if partial:
        for fy in sorted(partial):
            ms = sorted(months_of[fy])
            notes.append(
                f"FY{fy} has {len(ms)} month(s) in {OHSS_MONTHLY!r} "
                f"({calendar_month(fy, ms[0]):%b %Y}-{calendar_month(fy, ms[-1]):%b %Y}): marked FYTD"
            )
    if not monthly:
        notes.append(f"no {OHSS_MONTHLY!r} sheet: annual figures only")
    else:
        notes.append(
            f"rows with a month come from {OHSS_MONTHLY!r}, rows without from {OHSS_ANNUAL!r}: "
            "two views of the same encounters, never add them together"
        )
    for sheet_rows in (annual, monthly):
        for r, fy, mi, region, n in sheet_rows:
            out["line"].append(r)
            out["fy"].append(fy)
            out["fytd"].append(fy in partial)
            out["month"].append(None if mi is None else calendar_month(fy, mi))
            out["component"].append("USBP")
            out["region"].append(region)
            for name in ("aor", "state", "demographic", "citizenship", "title", "encounter_type"):
                out[name].append(None)
            out["count"].append(n)
    return "ohss-usbp", out, notes


# ----------------------------------------------------------------------------- entry points


def detect(path: str | Path, data: bytes | None = None) -> str:
    """The dataset of a file (see :data:`DATASETS`), from its header or sheets only."""
    p = Path(path)
    if data is None:
        data = _read_bytes(p)
    if data[:4] == b"PK\x03\x04":
        return _read_ohss(p, data, None)[0]
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise WrongDataset(p, "an old-style .xls workbook: save it as .xlsx (or CSV) and load that")
    text, _ = _decode(p, data[: 1 << 16])
    first = next(csv.reader(io.StringIO(text, newline="")), [])
    return _match_format(p, [_norm_header(h) for h in first], None).dataset


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        from ..errors import SourceNotFound

        raise SourceNotFound(f"{path}: no such file") from None
    except IsADirectoryError:
        raise StatsError(f"{path}: is a folder, not a data file") from None
    except OSError as exc:
        raise StatsError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_file(path: str | Path, *, expect: str | None = None, data: bytes | None = None) -> ParsedFile:
    """Read, detect, validate and normalise one file (CSV or the OHSS .xlsx workbook).

    ``expect``: the dataset the caller wants (a :data:`DATASETS` key); another dataset is a
    :class:`WrongDataset` error. Raises :class:`DataFormatError` (file, line, column) for
    anything malformed, :class:`~borderwatch.errors.SourceNotFound` for a missing file.
    """
    p = Path(path)
    if expect is not None and expect not in DATASETS:
        raise StatsError(f"unknown dataset {expect!r} (known: {', '.join(DATASETS)})")
    if data is None:
        data = _read_bytes(p)
    if not data:
        raise DataFormatError(p, "the file is empty")
    if data[:4] == b"PK\x03\x04":
        dataset, cols, notes = _read_ohss(p, data, expect)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise WrongDataset(p, "an old-style .xls workbook: save it as .xlsx (or CSV) and load that")
    else:
        dataset, cols, notes = _read_csv(p, data, expect)
    months = [m for m in cols["month"] if m is not None]
    fys = cols["fy"]
    fytd_years = tuple(sorted({fy for fy, t in zip(fys, cols["fytd"], strict=True) if t}))
    return ParsedFile(
        path=p,
        dataset=dataset,
        table=TABLE_OF[dataset],
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        columns=cols,
        rows=len(fys),
        fy_first=min(fys) if fys else None,
        fy_last=max(fys) if fys else None,
        first_month=min(months) if months else None,
        last_month=max(months) if months else None,
        fytd_years=fytd_years,
        notes=notes,
    )
