"""Questions to the stats store: seizures and encounters by region, component, month, year.

The Python API behind ``borderwatch stats seizures`` / ``stats encounters`` and the claim
checker. Everything reads the tables of ``docs/stats.md`` (``releases``, ``drug_seizures``,
``encounters``) through a DuckDB connection (or anything with a ``con`` / ``connection``
attribute holding one, such as the store).

* :func:`seizures` / :func:`encounters` — a grouped :class:`Table` for one period;
* :func:`total` — one number (a :class:`Measure`) for one side of a comparison;
* :func:`share` / :func:`ratio` — numerator over denominator (a :class:`Ratio`), e.g. the
  northern border's share of the fentanyl seized nationwide or at the two land borders.

Definitions are never hidden: every result carries a ``definition`` (dataset, release id
and label, SHA-256, period and the months it covers, filters) and ``notes`` (incomplete or
year-to-date periods, several releases combined, seizure location is not drug origin).

Releases: the data of one fiscal year always comes from one release. For each fiscal year
a query touches, the release that covers most of the requested months is used, ties going
to the release with the latest data month (then the latest loaded). So the newest release
(CBP's latest revision) answers wherever it has the data, a file of older years (CBP
publishes FY2019–FY2022 and FY2023–FY2026 as separate files) answers for its years, and a
result built from several releases lists each with the fiscal years it gave. ``release=``
pins one release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..errors import BorderwatchError

# --- vocabulary ------------------------------------------------------------------------

SEIZURES = "drug-seizures"
ENCOUNTER_DATASETS = ("encounters-aor", "encounters-state", "sbo-encounters", "ohss-usbp")
DATASETS = (SEIZURES, *ENCOUNTER_DATASETS)
DATASET_TITLES = {
    SEIZURES: "CBP Nationwide Drug Seizures",
    "encounters-aor": "CBP Nationwide Encounters (by area of responsibility)",
    "encounters-state": "CBP Nationwide Encounters (by state)",
    "sbo-encounters": "CBP Southwest Land Border Encounters",
    "ohss-usbp": "DHS OHSS Border Patrol encounters workbook",
}
PERIODS = ("fiscal", "calendar", "trailing12", "all")
COMPONENTS = ("OFO", "USBP")
COMPONENT_NAMES = {"OFO": "Office of Field Operations", "USBP": "U.S. Border Patrol"}

# Grouping dimensions (``by=``) per table: name -> SQL expression.
_DIMS_COMMON = {
    "region": "region",
    "component": "component",
    "aor": "aor",
    "month": "strftime(month, '%Y-%m')",
    "fy": "fy",
    "year": "CAST(year(month) AS INTEGER)",
}
SEIZURE_DIMS = {**_DIMS_COMMON, "drug": "drug", "land": "CASE WHEN land_only THEN 'Land Only' ELSE 'Other' END"}
ENCOUNTER_DIMS = {
    **_DIMS_COMMON,
    "state": "state",
    "demographic": "demographic",
    "citizenship": "citizenship",
    "title": "title",
    "encounter_type": "encounter_type",
}
# Filters a side of a comparison may set, per table (besides ``dataset`` and ``measure``).
SEIZURE_FILTERS = ("drug", "component", "region", "land_only", "aor")
ENCOUNTER_FILTERS = ("component", "region", "aor", "state", "demographic", "citizenship", "title", "encounter_type")
MEASURES = {SEIZURES: ("lbs", "events"), **{d: ("encounters",) for d in ENCOUNTER_DATASETS}}
UNITS = {"lbs": "lb", "events": "seizure events", "encounters": "encounters"}

# Region names, whatever the dataset calls them, map to one of three keys.
_REGION_ALIASES = {
    "north": ("north", "northern", "northern border", "northern land border", "nb", "nlb", "canada"),
    "southwest": (
        "southwest",
        "south",
        "southern",
        "southwest border",
        "southwest land border",
        "swb",
        "swlb",
        "mexico",
    ),
    "other": ("other", "coastal", "coastal border", "coastal/interior", "interior", "coastal and interior"),
}
REGION_WORDS = {"north": "Northern border", "southwest": "Southwest border", "other": "Coastal/Interior"}
LAND_BORDERS = ("north", "southwest")
_LAND_WORDS = ("land borders", "land", "both land borders", "the two land borders", "north+southwest")

LOCATION_NOTE = (
    "Seizure location is not drug origin: CBP records the region where a seizure was made, "
    "not where the drug was produced or came from."
)
ENCOUNTER_LOCATION_NOTE = (
    "Encounter location is not origin: the region where people were encountered, not their "
    "country of citizenship or departure; encounters count events, not distinct people."
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class QueryError(BorderwatchError, ValueError):
    """A query is invalid for the store: unknown dataset, drug, region, release, period."""


class NotComputable(QueryError):
    """The store holds no data for what was asked (no release loaded, period not covered)."""


# --- months ----------------------------------------------------------------------------


def month_add(m: date, k: int) -> date:
    i = m.year * 12 + (m.month - 1) + k
    return date(i // 12, i % 12 + 1, 1)


def fiscal_year(m: date) -> int:
    """Fiscal year *N* runs from October *N-1* to September *N*."""
    return m.year + 1 if m.month >= 10 else m.year


def fy_months(fy: int) -> list[date]:
    return [month_add(date(fy - 1, 10, 1), k) for k in range(12)]


def cy_months(year: int) -> list[date]:
    return [date(year, k, 1) for k in range(1, 13)]


def fmt_month(m: date) -> str:
    return f"{_MONTHS[m.month - 1]} {m.year}"


def fmt_span(months: Iterable[date]) -> str:
    """``Oct–Dec 2025``, ``Oct 2023–Sep 2024``, ``Mar 2024``; gaps as comma-separated runs."""
    ms = sorted(set(months))
    if not ms:
        return "no months"
    runs: list[tuple[date, date]] = []
    for m in ms:
        if runs and month_add(runs[-1][1], 1) == m:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    out = []
    for a, b in runs:
        if a == b:
            out.append(fmt_month(a))
        elif a.year == b.year:
            out.append(f"{_MONTHS[a.month - 1]}–{fmt_month(b)}")
        else:
            out.append(f"{fmt_month(a)}–{fmt_month(b)}")
    return ", ".join(out)


def parse_month(value: str | date | datetime) -> date:
    """``2025-01``, ``2025-1``, ``Jan 2025``, ``2025-01-15`` or a date → first of the month."""
    if isinstance(value, datetime):
        return date(value.year, value.month, 1)
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-\d{1,2})?", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return date(int(m.group(1)), int(m.group(2)), 1)
    m = re.fullmatch(r"([A-Za-z]{3})[a-z]*\.?\s+(\d{4})", text)
    if m and m.group(1).title() in _MONTHS:
        return date(int(m.group(2)), _MONTHS.index(m.group(1).title()) + 1, 1)
    raise QueryError(f"cannot read month {value!r}: expected YYYY-MM (e.g. 2025-01) or 'Jan 2025'")


def _as_date(v: Any) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return parse_month(str(v))


# --- releases and coverage -------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseInfo:
    """One loaded file (a release of a dataset) and the months it has data for."""

    release_id: str
    dataset: str
    file_name: str
    sha256: str
    label: str | None
    loaded_at: Any
    last_month: date | None
    months: frozenset[date]  # months with at least one row
    annual_fys: frozenset[int]  # fiscal years with annual rows (month NULL), e.g. OHSS's annual sheet
    fytd_fys: frozenset[int]  # fiscal years the file marks year-to-date

    @property
    def title(self) -> str:
        return self.label or self.file_name

    @property
    def latest(self) -> date | None:
        return max(self.months) if self.months else self.last_month

    def fiscal_years(self) -> list[int]:
        return sorted({fiscal_year(m) for m in self.months} | set(self.annual_fys))

    def to_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "label": self.label,
            "file_name": self.file_name,
            "sha256": self.sha256,
        }

    def cite(self) -> str:
        """``release 'LABEL' (FILE, SHA-256 1a2b3c4d5e6f)``."""
        label = f"'{self.label}' " if self.label else ""
        return f"release {label}({self.file_name}, SHA-256 {self.sha256[:12]})"

    def _rank(self) -> tuple[date, str]:
        return (self.latest or date.min, str(self.loaded_at or ""))


class StatsView:
    """A connection plus what one session of queries keeps: release coverage, categories.

    Coverage is read once per view; a claim evaluation (hundreds of definitions) reuses
    one view. Functions of this module accept a view, a DuckDB connection, or an object
    holding one (``.con`` / ``.connection``).
    """

    def __init__(self, con: Any) -> None:
        self.con = con
        self._releases: dict[str, list[ReleaseInfo]] = {}
        self._distinct: dict[tuple[str, str, tuple[str, ...]], list[Any]] = {}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self.con.execute(sql, list(params)).fetchall())
        except Exception as exc:  # duckdb.CatalogException etc.: a store without our schema
            name = type(exc).__name__
            if "Catalog" in name or "does not exist" in str(exc):
                raise QueryError(
                    "the stats store has no border-statistics tables yet; load CBP files with "
                    "`borderwatch stats load FILE`"
                ) from None
            raise

    def releases(self, dataset: str) -> list[ReleaseInfo]:
        """Releases of ``dataset``, newest first (latest data month, then latest loaded)."""
        if dataset not in DATASETS:
            raise QueryError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")
        if dataset not in self._releases:
            rows = self.execute(
                "SELECT release_id, dataset, file_name, sha256, label, loaded_at, last_month "
                "FROM releases WHERE dataset = ?",
                [dataset],
            )
            table = _table(dataset)
            cov: dict[str, tuple[set[date], set[int], set[int]]] = {r[0]: (set(), set(), set()) for r in rows}
            if rows:
                ids = [r[0] for r in rows]
                marks = ", ".join("?" for _ in ids)
                for rid, fy, month, fytd in self.execute(
                    f"SELECT release_id, fy, month, bool_or(fytd) FROM {table} "
                    f"WHERE release_id IN ({marks}) GROUP BY ALL",
                    ids,
                ):
                    months, annual, fytds = cov[rid]
                    m = _as_date(month)
                    if m is None:
                        annual.add(int(fy))
                    else:
                        months.add(m)
                    if fytd:
                        fytds.add(int(fy))
            infos = []
            for rid, ds, fname, sha, label, loaded, last in rows:
                months, annual, fytds = cov[rid]
                if not months and not annual:
                    continue  # a release without rows answers nothing
                infos.append(
                    ReleaseInfo(
                        rid,
                        ds,
                        fname,
                        sha,
                        label,
                        loaded,
                        _as_date(last),
                        frozenset(months),
                        frozenset(annual),
                        frozenset(fytds),
                    )
                )
            infos.sort(key=lambda r: r._rank(), reverse=True)
            self._releases[dataset] = infos
        return self._releases[dataset]

    def release(self, ref: str, dataset: str) -> ReleaseInfo:
        """The release ``ref`` (id, unique id prefix of 6+ hex, file name or label) of ``dataset``."""
        rels = self.releases(dataset)
        ref_l = ref.strip().lower()
        hits = [
            r
            for r in rels
            if ref_l in (r.release_id.lower(), r.sha256.lower(), r.file_name.lower(), (r.label or "").lower())
        ]
        if not hits and len(ref_l) >= 6:
            hits = [r for r in rels if r.release_id.lower().startswith(ref_l) or r.sha256.lower().startswith(ref_l)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise QueryError(f"release {ref!r} is ambiguous: {', '.join(r.release_id for r in hits)}")
        others = [
            ds for ds in DATASETS if ds != dataset and any(ref_l == r.release_id.lower() for r in self.releases(ds))
        ]
        if others:
            raise QueryError(f"release {ref!r} is a {others[0]} release, not {dataset}")
        known = ", ".join(f"{r.release_id} ({r.title})" for r in rels) or "none loaded"
        raise QueryError(f"no {dataset} release {ref!r} (loaded: {known})")

    def distinct(self, dataset: str, column: str) -> list[Any]:
        """Values of ``column`` in every loaded release of ``dataset``."""
        ids = tuple(r.release_id for r in self.releases(dataset))
        key = (dataset, column, ids)
        if key not in self._distinct:
            if not ids:
                self._distinct[key] = []
            else:
                marks = ", ".join("?" for _ in ids)
                rows = self.execute(
                    f"SELECT DISTINCT {column} FROM {_table(dataset)} WHERE release_id IN ({marks}) "
                    f"AND {column} IS NOT NULL ORDER BY 1",
                    list(ids),
                )
                self._distinct[key] = [r[0] for r in rows]
        return self._distinct[key]

    def latest_month(self, dataset: str, release: str | None = None) -> date:
        rels = [self.release(release, dataset)] if release else self.releases(dataset)
        months = [r.latest for r in rels if r.latest is not None]
        if not months:
            raise NotComputable(_no_release(dataset))
        return max(months)


def view_of(con: Any) -> StatsView:
    """A :class:`StatsView` for a connection, a store (``.con``) or a view."""
    if isinstance(con, StatsView):
        return con
    for attr in ("con", "connection", "_con"):
        inner = getattr(con, attr, None)
        if inner is not None and hasattr(inner, "execute"):
            return StatsView(inner)
    if hasattr(con, "execute"):
        return StatsView(con)
    raise TypeError(f"expected a DuckDB connection or a store, got {type(con).__name__}")


def _table(dataset: str) -> str:
    return "drug_seizures" if dataset == SEIZURES else "encounters"


def _no_release(dataset: str) -> str:
    return f"no {dataset} release is loaded (load one with `borderwatch stats load FILE`)"


# --- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSpec:
    """The months a query asks for, and how to group them (``fy`` / ``year`` / none)."""

    kind: str  # fiscal | calendar | trailing12 | all
    year: int | None
    months: tuple[date, ...]
    group: str | None
    label: str

    @property
    def whole_fiscal_years(self) -> bool:
        return self.kind == "fiscal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "year": self.year,
            "label": self.label,
            "first_month": self.months[0].isoformat()[:7] if self.months else None,
            "last_month": self.months[-1].isoformat()[:7] if self.months else None,
            "months": len(self.months),
        }


def period_label(kind: str, year: int | None = None, end: date | None = None) -> str:
    if kind == "fiscal" and year is not None:
        return f"FY{year} ({fmt_span(fy_months(year))})"
    if kind == "calendar" and year is not None:
        return f"CY{year} ({fmt_span(cy_months(year))})"
    if kind == "trailing12" and end is not None:
        return f"12 months to {fmt_month(end)} ({fmt_span(month_add(end, -k) for k in range(12))})"
    return kind


def resolve_period(
    view: StatsView,
    dataset: str | Sequence[str],
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    release: str | None = None,
) -> PeriodSpec:
    """The months of ``period``; ``year`` None means every year the data covers, grouped."""
    if period not in PERIODS:
        raise QueryError(f"unknown period {period!r} (expected one of: {', '.join(PERIODS)})")
    datasets = [dataset] if isinstance(dataset, str) else list(dataset)
    if period == "trailing12":
        if year is not None:
            raise QueryError("a trailing-12-month period takes an end month (--end-month YYYY-MM), not a year")
        if end_month is not None:
            end = parse_month(end_month)
        else:  # the latest month every dataset involved has
            end = min(view.latest_month(ds, release if len(datasets) == 1 else None) for ds in datasets)
        months = tuple(month_add(end, -k) for k in range(11, -1, -1))
        return PeriodSpec("trailing12", None, months, None, period_label("trailing12", end=end))
    if end_month is not None:
        raise QueryError("--end-month applies to the trailing12 period only")
    if year is not None:
        if not 1900 <= int(year) <= 2200:
            raise QueryError(f"year {year} is out of range")
        ms = fy_months(year) if period == "fiscal" else cy_months(year)
        if period == "all":
            raise QueryError("period 'all' covers every month; it takes no year")
        return PeriodSpec(period, int(year), tuple(ms), None, period_label(period, year))
    # every month the data covers
    rels: list[ReleaseInfo] = []
    for ds in datasets:
        rels += [view.release(release, ds)] if release and len(datasets) == 1 else view.releases(ds)
    if not rels:
        raise NotComputable(_no_release(datasets[0]))
    all_months = set().union(*(r.months for r in rels))
    for r in rels:
        for fy in r.annual_fys:
            if not any(fiscal_year(m) == fy for m in r.months):  # a year known only from its annual figure
                all_months |= set(fy_months(fy))
    first, last = min(all_months), max(all_months)
    if period == "fiscal":
        a, b = fiscal_year(first), fiscal_year(last)
        span = [m for fy in range(a, b + 1) for m in fy_months(fy)]
        return PeriodSpec("fiscal", None, tuple(span), "fy", f"every fiscal year, FY{a}–FY{b}")
    if period == "calendar":
        span = [m for y in range(first.year, last.year + 1) for m in cy_months(y)]
        return PeriodSpec("calendar", None, tuple(span), "year", f"every calendar year, {first.year}–{last.year}")
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    span = [month_add(first, k) for k in range(n)]
    return PeriodSpec("all", None, tuple(span), None, f"all months ({fmt_month(first)}–{fmt_month(last)})")


# --- planning: which release answers which months --------------------------------------


@dataclass(frozen=True)
class _Part:
    release: ReleaseInfo
    fy: int
    first: date  # requested months of this fiscal year
    last: date
    months: tuple[date, ...]  # of those, the months the release has
    annual: bool  # answered from the release's annual rows (month NULL)


@dataclass
class Plan:
    dataset: str
    period: PeriodSpec
    parts: list[_Part]
    missing: list[date]

    @property
    def releases(self) -> list[ReleaseInfo]:
        seen: dict[str, ReleaseInfo] = {}
        for p in self.parts:
            seen.setdefault(p.release.release_id, p.release)
        return list(seen.values())

    @property
    def covered(self) -> list[date]:
        out: list[date] = []
        for p in self.parts:
            if p.annual and not p.months and p.fy not in p.release.fytd_fys:
                out += fy_months(p.fy)  # a complete year known only from its annual figure
            else:
                out += p.months
        return sorted(out)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.fytd_annual

    @property
    def fytd_annual(self) -> list[int]:
        """Years in progress known only from an annual figure (months covered unknown)."""
        return [p.fy for p in self.parts if p.annual and not p.months and p.fy in p.release.fytd_fys]

    @property
    def annual_years(self) -> list[int]:
        return [p.fy for p in self.parts if p.annual]

    def fytd_years(self) -> list[int]:
        return sorted({p.fy for p in self.parts if p.fy in p.release.fytd_fys})


def plan(view: StatsView, dataset: str, period: PeriodSpec, release: str | None = None, *, annual: bool = True) -> Plan:
    """Assign each fiscal year of ``period`` to one release (see the module docstring).

    ``annual``: a whole fiscal year is taken from the release's annual rows when it has
    them (OHSS's "Annual Region" sheet: the published annual figure; its monthly rows,
    rounded one by one, may add up to a slightly different total). Queries that group by
    month or calendar year pass False.
    """
    rels = [view.release(release, dataset)] if release else view.releases(dataset)
    if not rels:
        raise NotComputable(_no_release(dataset))
    by_fy: dict[int, list[date]] = {}
    for m in period.months:
        by_fy.setdefault(fiscal_year(m), []).append(m)
    parts: list[_Part] = []
    missing: list[date] = []
    for fy, ms in sorted(by_fy.items()):
        want = set(ms)
        whole = len(ms) == 12
        best = max(rels, key=lambda r: (len(want & r.months), whole and annual and fy in r.annual_fys, r._rank()))
        have = tuple(sorted(want & best.months))
        if whole and annual and fy in best.annual_fys:
            parts.append(_Part(best, fy, ms[0], ms[-1], have, True))
            if have:
                missing += sorted(want - best.months)
            elif fy in best.fytd_fys:
                pass  # months unknown: reported through Plan.fytd_annual
        elif have:
            parts.append(_Part(best, fy, ms[0], ms[-1], have, False))
            missing += sorted(want - best.months)
        else:
            missing += ms
    return Plan(dataset, period, parts, missing)


# --- filters ---------------------------------------------------------------------------


def _norm(s: Any) -> str:
    return re.sub(r"\s+", " ", str(s).replace("*", "")).strip().lower()


def region_key(name: str) -> str | None:
    """``north`` / ``southwest`` / ``other`` for any spelling of a region, else None."""
    n = _norm(name)
    for key, names in _REGION_ALIASES.items():
        if n in names:
            return key
    return None


def component_key(name: str) -> str | None:
    n = _norm(name)
    for key, full in COMPONENT_NAMES.items():
        if n in (
            key.lower(),
            full.lower(),
            full.lower().replace(".", ""),
            "border patrol" if key == "USBP" else "field operations",
        ):
            return key
    return None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    return [v]


def _resolve_regions(view: StatsView, dataset: str, value: Any) -> list[str]:
    stored = view.distinct(dataset, "region")
    wanted: list[str] = []
    for item in _as_list(value):
        if _norm(item) in _LAND_WORDS:
            wanted += list(LAND_BORDERS)
            continue
        exact = [s for s in stored if _norm(s) == _norm(item)]
        if exact:
            wanted += [s for s in exact]
            continue
        key = region_key(str(item))
        if key is None:
            raise QueryError(
                f"unknown region {item!r} for {dataset} (known: {', '.join(map(str, stored)) or 'none'}; "
                "or northern / southwest / other / land borders)"
            )
        wanted.append(key)
    out: list[str] = []
    for w in wanted:
        if w in stored:
            names = [w]
        else:
            names = [s for s in stored if region_key(str(s)) == w]
            if not names:
                raise QueryError(
                    f"{dataset} has no {REGION_WORDS.get(w, w)} rows (regions in the loaded data: "
                    f"{', '.join(map(str, stored)) or 'none'})"
                )
        out += [n for n in names if n not in out]
    return out


def _resolve_values(view: StatsView, dataset: str, column: str, value: Any, what: str) -> list[Any]:
    stored = view.distinct(dataset, column)
    out: list[Any] = []
    for item in _as_list(value):
        if column == "component":
            key = component_key(str(item))
            hits = [s for s in stored if component_key(str(s)) == key] if key else []
            if key and not hits:
                raise QueryError(
                    f"{dataset} has no {key} rows (components in the loaded data: {', '.join(map(str, stored))})"
                )
        else:
            hits = [s for s in stored if _norm(s) == _norm(item)]
        if not hits:
            listed = ", ".join(map(str, stored[:40])) + (" ..." if len(stored) > 40 else "")
            raise QueryError(
                f"unknown {what} {item!r} in {dataset} (known: {listed or 'none: the dataset leaves it empty'})"
            )
        out += [h for h in hits if h not in out]
    return out


@dataclass(frozen=True)
class Side:
    """What is counted: a dataset, a measure and filters (one side of a comparison)."""

    dataset: str
    measure: str
    filters: tuple[tuple[str, Any], ...]  # resolved: (column filter name, stored value(s)), sorted
    # What the dataset holds at all (to say "USBP" rather than "OFO+USBP" for a USBP-only file).
    regions_in_data: tuple[str, ...] = field(default=(), compare=False)
    components_in_data: tuple[str, ...] = field(default=(), compare=False)

    def get(self, key: str) -> Any:
        return dict(self.filters).get(key)

    def with_filters(self, **changes: Any) -> Side:
        """A copy with filters set (a value) or removed (None); values must be resolved."""
        f = dict(self.filters)
        for k, v in changes.items():
            if v is None:
                f.pop(k, None)
            else:
                f[k] = v
        return Side(self.dataset, self.measure, tuple(sorted(f.items())), self.regions_in_data, self.components_in_data)

    def describe(self) -> str:
        return describe_filters(
            self.dataset, dict(self.filters), self.measure, self.regions_in_data, self.components_in_data
        )

    def filter_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset": self.dataset, "measure": self.measure}
        for k, v in self.filters:
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


def make_side(view: StatsView, spec: Mapping[str, Any]) -> Side:
    """Validate and resolve a side given as a mapping (``dataset`` plus filters)."""
    spec = {k: v for k, v in spec.items() if v is not None}
    dataset = spec.pop("dataset", None)
    if dataset not in DATASETS:
        raise QueryError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")
    measure = spec.pop("measure", None) or MEASURES[dataset][0]
    if measure not in MEASURES[dataset]:
        raise QueryError(f"{dataset} has no measure {measure!r} (known: {', '.join(MEASURES[dataset])})")
    allowed = SEIZURE_FILTERS if dataset == SEIZURES else ENCOUNTER_FILTERS
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise QueryError(f"{dataset} cannot be filtered by {', '.join(unknown)} (filters: {', '.join(allowed)})")
    if not view.releases(dataset):
        raise NotComputable(_no_release(dataset))
    resolved: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "land_only":
            if not isinstance(value, bool):
                raise QueryError(f"land_only must be true or false, got {value!r}")
            if value:
                resolved[key] = True
            continue
        if key == "region":
            vals = _resolve_regions(view, dataset, value)
        else:
            vals = _resolve_values(view, dataset, key, value, key.replace("_", " "))
        if vals:
            resolved[key] = tuple(sorted(vals, key=str))
    regions = tuple(map(str, view.distinct(dataset, "region")))
    components = tuple(map(str, view.distinct(dataset, "component")))
    return Side(dataset, measure, tuple(sorted(resolved.items())), regions, components)


def describe_filters(
    dataset: str,
    filters: Mapping[str, Any],
    measure: str | None = None,
    regions_in_data: Sequence[str] = (),
    components_in_data: Sequence[str] = (),
) -> str:
    """Plain words: ``Fentanyl (lb), Northern Border, OFO+USBP, land and other``."""
    parts: list[str] = []
    drug = filters.get("drug")
    if dataset == SEIZURES:
        what = "/".join(_as_list(drug)) if drug else "all drugs"
        parts.append(f"{what} ({UNITS.get(measure or 'lbs', measure or 'lbs')})")
    else:
        et = filters.get("encounter_type")
        parts.append("/".join(map(str, _as_list(et))) if et else "all encounters")
    region = filters.get("region")
    if region:
        regions = _as_list(region)
        keys = {region_key(str(r)) for r in regions}
        parts.append(
            "the two land borders" if keys == set(LAND_BORDERS) and len(regions) == 2 else " + ".join(map(str, regions))
        )
    elif len(regions_in_data) == 1:
        parts.append(f"{regions_in_data[0]} (the only region in {dataset})")
    else:
        parts.append("nationwide")
    comp = filters.get("component")
    if comp:
        parts.append("+".join(map(str, _as_list(comp))))
    elif len(components_in_data) == 1:
        parts.append(f"{components_in_data[0]} (the only component in {dataset})")
    else:
        parts.append("OFO+USBP")
    if dataset == SEIZURES:
        parts.append("land only" if filters.get("land_only") else "land and other (air, sea, interior)")
    for key in ("aor", "state", "demographic", "citizenship", "title"):
        if filters.get(key):
            parts.append(f"{key} {'/'.join(map(str, _as_list(filters[key])))}")
    return ", ".join(parts)


def _where(side: Side) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in side.filters:
        if key == "land_only":
            clauses.append("land_only")
            continue
        vals = list(value)
        clauses.append(f"{key} IN ({', '.join('?' for _ in vals)})")
        params += vals
    return clauses, params


def _plan_where(p: Plan) -> tuple[str, list[Any]]:
    ors: list[str] = []
    params: list[Any] = []
    for part in p.parts:
        if part.annual:
            ors.append("(release_id = ? AND fy = ? AND month IS NULL)")
            params += [part.release.release_id, part.fy]
        else:
            ors.append("(release_id = ? AND fy = ? AND month BETWEEN ? AND ?)")
            params += [part.release.release_id, part.fy, part.first, part.last]
    return ("(" + " OR ".join(ors) + ")") if ors else "FALSE", params


# --- results ---------------------------------------------------------------------------


@dataclass
class Table:
    """A query result: columns, rows, the full definition used, and notes."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    definition: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    values: tuple[str, ...] = ()  # the measure columns (summed)
    complete: bool = True
    measure: str = ""  # the main measure column: lbs, events or encounters

    @property
    def note(self) -> str | None:
        """The notes as one paragraph, or None."""
        return " ".join(self.notes) or None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def total(self, name: str | None = None) -> float:
        """Sum of a measure column (default: the main measure) over the rows."""
        col = name or self.measure or self.values[-1]
        return float(sum(v or 0 for v in self.column(col)))

    def totals(self) -> dict[str, float]:
        return {v: self.total(v) for v in self.values}

    def describe(self) -> str:
        return describe_definition(self.definition)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return round(v, 4) if isinstance(v, float) else v

        return {
            "columns": list(self.columns),
            "rows": [{c: clean(v) for c, v in zip(self.columns, r)} for r in self.rows],
            "totals": {k: clean(v) for k, v in self.totals().items()},
            "complete": self.complete,
            "definition": self.definition,
            "notes": list(self.notes),
        }


def describe_definition(d: Mapping[str, Any]) -> str:
    """One line: what was counted, over which months, from which release(s)."""
    rels = d.get("releases") or []
    cite = "; ".join(
        f"{r.get('label') or r.get('file_name')} [{r.get('release_id')}]"
        + (f" for FY{', FY'.join(map(str, r['fiscal_years']))}" if len(rels) > 1 and r.get("fiscal_years") else "")
        for r in rels
    )
    period = d.get("period", {})
    cov = ""
    if (
        period.get("months_covered") is not None
        and period.get("months")
        and period["months_covered"] < period["months"]
    ):
        cov = f", {period['months_covered']} of {period['months']} months"
    title = DATASET_TITLES.get(d.get("dataset", ""), d.get("dataset", ""))
    return f"{d.get('what', '')} — {period.get('label', '')}{cov} — {title}, {cite}"


def _period_notes(p: Plan, dataset: str) -> list[str]:
    notes: list[str] = []
    period = p.period
    groups: dict[Any, list[date]] = {}
    if period.group:
        for m in period.months:
            groups.setdefault(fiscal_year(m) if period.group == "fy" else m.year, []).append(m)
    else:
        groups[None] = list(period.months)
    covered = set(p.covered)
    fytd = set(p.fytd_years())
    for g, ms in groups.items():
        have = [m for m in ms if m in covered]
        name = period.label if g is None else (f"FY{g}" if period.group == "fy" else f"CY{g}")
        fys_here = sorted({fiscal_year(m) for m in ms} & fytd)
        tag = f"; FY{', FY'.join(map(str, fys_here))} is marked year to date (FYTD) in the data" if fys_here else ""
        if not have:
            if g is None:
                notes.append(f"No {dataset} data for {name}.")
            continue
        if len(have) < len(ms):
            notes.append(
                f"{name} is incomplete: the data cover {len(have)} of {len(ms)} months ({fmt_span(have)}){tag}."
            )
        elif fys_here and period.kind != "fiscal":
            notes.append(
                f"{name} includes months of FY{', FY'.join(map(str, fys_here))}, which the data mark year to date "
                "(FYTD, subject to revision)."
            )
    if p.annual_years:
        notes.append(
            f"Fiscal-year totals for FY{', FY'.join(map(str, p.annual_years))} are the annual figures the file "
            "publishes (not a sum of its monthly rows)."
        )
    if p.fytd_annual:
        notes.append(
            f"FY{', FY'.join(map(str, p.fytd_annual))}: annual figure of a year in progress (FYTD); "
            "months covered not stated."
        )
    if len(p.releases) > 1:
        parts = "; ".join(
            f"FY{', FY'.join(map(str, sorted({q.fy for q in p.parts if q.release is r})))} from {r.cite()}"
            for r in p.releases
        )
        notes.append(f"This result combines {len(p.releases)} releases, each fiscal year from one release: {parts}.")
    return notes


def _release_dicts(p: Plan) -> list[dict[str, Any]]:
    return [{**r.to_dict(), "fiscal_years": sorted({q.fy for q in p.parts if q.release is r})} for r in p.releases]


def _definition(side: Side, p: Plan, by: Sequence[str]) -> dict[str, Any]:
    covered = p.covered
    period = {
        **p.period.to_dict(),
        "months_covered": len(set(covered) & set(p.period.months)),
        "covered": fmt_span(covered) if covered else None,
        "missing": fmt_span(p.missing) if p.missing else None,
        "complete": p.complete,
        "fytd": [f"FY{y}" for y in p.fytd_years()],
    }
    rels = _release_dicts(p)
    filters = {k: (list(v) if isinstance(v, tuple) else v) for k, v in side.filters}
    return {
        "dataset": side.dataset,
        "dataset_title": DATASET_TITLES[side.dataset],
        "measure": side.measure,
        "unit": UNITS[side.measure],
        "what": side.describe(),
        "period": period,
        "release": rels[0] if len(rels) == 1 else None,
        "releases": rels,
        "filters": filters,
        "by": list(by),
    }


def run_query(
    con: Any,
    side: Side | Mapping[str, Any],
    *,
    by: Sequence[str] = (),
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    release: str | None = None,
) -> Table:
    """The general query behind :func:`seizures` / :func:`encounters` / :func:`total`."""
    view = view_of(con)
    if not isinstance(side, Side):
        side = make_side(view, side)
    dataset = side.dataset
    dims_sql = SEIZURE_DIMS if dataset == SEIZURES else ENCOUNTER_DIMS
    if isinstance(by, str):
        by = [b for b in re.split(r"[,\s]+", by) if b]
    by = [str(b) for b in by]
    for b in by:
        if b not in dims_sql:
            raise QueryError(f"cannot group {dataset} by {b!r} (choose from: {', '.join(dims_sql)})")
    if len(set(by)) != len(by):
        raise QueryError(f"--by lists a dimension twice: {', '.join(by)}")
    spec = resolve_period(view, dataset, period, year, end_month, release)
    dims = list(by)
    if spec.group and spec.group not in dims and not ("month" in dims):
        dims.insert(0, spec.group)
    p = plan(view, dataset, spec, release, annual=not ({"month", "year"} & set(dims)))
    if not p.parts:
        raise NotComputable(f"no {dataset} data for {spec.label} in any loaded release")
    where, params = _plan_where(p)
    clauses, fparams = _where(side)
    values: tuple[str, ...]
    if dataset == SEIZURES:
        values = ("events", "lbs") if side.measure == "lbs" else ("events",)
        select_vals = "CAST(coalesce(sum(events), 0) AS BIGINT) AS events" + (
            ", coalesce(sum(lbs), 0.0) AS lbs" if side.measure == "lbs" else ""
        )
        if side.measure == "events":
            values = ("events",)
    else:
        values = ("encounters",)
        select_vals = 'CAST(coalesce(sum("count"), 0) AS BIGINT) AS encounters'
    select = ", ".join([f'{dims_sql[d]} AS "{d}"' for d in dims] + [select_vals])
    sql = f"SELECT {select} FROM {_table(dataset)} WHERE {' AND '.join([where, *clauses])}"
    if dims:
        order = ", ".join(str(i + 1) for i in range(len(dims)))
        sql += f" GROUP BY {order} ORDER BY {order}"
    rows = view.execute(sql, params + fparams)
    columns = dims + list(values)
    if ("fy" in dims or "year" in dims) and "month" not in dims:
        rows, columns = _with_month_counts(rows, dims, columns, p)
    notes = _period_notes(p, dataset)
    if dataset == SEIZURES:
        notes.append(LOCATION_NOTE)
    elif dataset == "ohss-usbp":
        notes.append("OHSS publishes these Border Patrol counts rounded (to the nearest 10).")
    return Table(columns, [tuple(r) for r in rows], _definition(side, p, dims), notes, values, p.complete, side.measure)


def _with_month_counts(
    rows: list[tuple[Any, ...]], dims: list[str], columns: list[str], p: Plan
) -> tuple[list[tuple[Any, ...]], list[str]]:
    covered = p.covered
    counts: dict[tuple[str, Any], int] = {}
    for m in covered:
        counts[("fy", fiscal_year(m))] = counts.get(("fy", fiscal_year(m)), 0) + 1
        counts[("year", m.year)] = counts.get(("year", m.year), 0) + 1
    key = "fy" if "fy" in dims else "year"
    i = dims.index(key)
    out = []
    for r in rows:
        out.append((*r, counts.get((key, r[i]), 0)))
    return out, [*columns, "months"]


# --- the public API --------------------------------------------------------------------


def seizures(
    con: Any,
    *,
    drug: str | Sequence[str] | None = None,
    by: Sequence[str] | str = ("region",),
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    component: str | None = None,
    land_only: bool = False,
    region: str | Sequence[str] | None = None,
    aor: str | Sequence[str] | None = None,
    release: str | None = None,
    measure: str = "lbs",
) -> Table:
    """Drug seizures (lb and events) grouped ``by`` region / component / month / fy / year / ...

    ``period``: ``fiscal`` (FY ``year``: Oct ``year-1``–Sep ``year``), ``calendar``,
    ``trailing12`` (12 months to ``end_month``, default the latest month loaded) or
    ``all``; ``year`` None groups by every fiscal / calendar year covered. ``component``:
    ``OFO``, ``USBP`` or None (both). ``land_only``: CBP's Land Filter = Land Only.
    ``region``: a region or a list (``land borders`` = Northern + Southwest).
    """
    spec = {
        "dataset": SEIZURES,
        "measure": measure,
        "drug": drug,
        "component": component,
        "land_only": land_only or None,
        "region": region,
        "aor": aor,
    }
    return run_query(con, spec, by=by, period=period, year=year, end_month=end_month, release=release)


def encounters(
    con: Any,
    *,
    dataset: str | None = None,
    by: Sequence[str] | str = ("region",),
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    component: str | None = None,
    region: str | Sequence[str] | None = None,
    encounter_type: str | Sequence[str] | None = None,
    citizenship: str | Sequence[str] | None = None,
    demographic: str | Sequence[str] | None = None,
    title: str | Sequence[str] | None = None,
    aor: str | Sequence[str] | None = None,
    state: str | Sequence[str] | None = None,
    release: str | None = None,
) -> Table:
    """Encounters grouped ``by`` region / component / encounter_type / month / fy / year / ...

    ``dataset``: ``encounters-aor``, ``encounters-state``, ``sbo-encounters`` or
    ``ohss-usbp``; None picks the only encounters dataset loaded (an error if several).
    Periods as in :func:`seizures`.
    """
    view = view_of(con)
    if dataset is None:
        loaded = [d for d in ENCOUNTER_DATASETS if view.releases(d)]
        if not loaded:
            raise NotComputable("no encounters release is loaded (load one with `borderwatch stats load FILE`)")
        if len(loaded) > 1:
            raise QueryError(
                f"several encounters datasets are loaded ({', '.join(loaded)}): choose one with dataset=/--dataset"
            )
        dataset = loaded[0]
    if dataset not in ENCOUNTER_DATASETS:
        raise QueryError(f"{dataset!r} is not an encounters dataset (choose from: {', '.join(ENCOUNTER_DATASETS)})")
    spec = {
        "dataset": dataset,
        "component": component,
        "region": region,
        "encounter_type": encounter_type,
        "citizenship": citizenship,
        "demographic": demographic,
        "title": title,
        "aor": aor,
        "state": state,
    }
    return run_query(view, spec, by=by, period=period, year=year, end_month=end_month, release=release)


@dataclass
class Measure:
    """One number for one side of a comparison, with its definition."""

    value: float | None
    unit: str
    definition: dict[str, Any]
    notes: list[str]
    complete: bool
    why: str | None = None  # set when value is None (not computable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": None if self.value is None else round(self.value, 4),
            "unit": self.unit,
            "complete": self.complete,
            "why": self.why,
            "definition": self.definition,
            "notes": list(self.notes),
        }


def total(
    con: Any,
    side: Side | Mapping[str, Any],
    *,
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    release: str | None = None,
) -> Measure:
    """The total of one side over one period (never raises for missing data: ``why`` says)."""
    view = view_of(con)
    try:
        if not isinstance(side, Side):
            side = make_side(view, side)
        if period in ("fiscal", "calendar") and year is None:
            raise QueryError("a total needs a year for fiscal and calendar periods")
        t = run_query(view, side, by=(), period=period, year=year, end_month=end_month, release=release)
    except NotComputable as exc:
        unit = UNITS.get(side.measure, "") if isinstance(side, Side) else ""
        return Measure(None, unit, {"period": {"label": period_label(period, year)}}, [], False, str(exc))
    assert isinstance(side, Side)
    value = t.total(side.measure)
    return Measure(value, t.definition["unit"], t.definition, t.notes, t.complete)


@dataclass
class Ratio:
    """Numerator over denominator (a share when the numerator is part of the denominator)."""

    kind: str  # share | ratio
    numerator: Measure
    denominator: Measure
    value: float | None
    why: str | None
    notes: list[str]

    @property
    def complete(self) -> bool:
        return self.numerator.complete and self.denominator.complete

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "why": self.why,
            "complete": self.complete,
            "numerator": self.numerator.to_dict(),
            "denominator": self.denominator.to_dict(),
            "notes": list(self.notes),
        }


def check_share_sides(num: Side, den: Side) -> None:
    """A share's numerator must be a part of its denominator (same dataset, narrower filters)."""
    if num.dataset != den.dataset or num.measure != den.measure:
        raise QueryError(
            f"a share needs numerator and denominator from the same dataset and measure "
            f"({num.dataset} {num.measure} vs {den.dataset} {den.measure}); use a ratio instead"
        )
    nf, df = dict(num.filters), dict(den.filters)
    for key, dval in df.items():
        nval = nf.get(key)
        if nval is None:
            raise QueryError(
                "the numerator of a share must be part of the denominator: "
                f"the denominator sets {key}, the numerator does not"
            )
        if key == "land_only":
            continue
        if not set(_as_list(nval)) <= set(_as_list(dval)):
            raise QueryError(
                f"the numerator of a share must be part of the denominator: {key} {list(_as_list(nval))} "
                f"is not within {list(_as_list(dval))}"
            )


def _ratio(
    kind: str,
    con: Any,
    numerator: Side | Mapping[str, Any],
    denominator: Side | Mapping[str, Any],
    period: str,
    year: int | None,
    end_month: str | date | None,
    release: str | None,
) -> Ratio:
    view = view_of(con)
    num = numerator if isinstance(numerator, Side) else make_side(view, numerator)
    den = denominator if isinstance(denominator, Side) else make_side(view, denominator)
    if kind == "share":
        check_share_sides(num, den)
    if period == "trailing12" and end_month is None:  # one window for both sides
        try:
            end_month = min(view.latest_month(num.dataset, release), view.latest_month(den.dataset, release))
        except NotComputable as exc:
            m = Measure(None, "", {}, [], False, str(exc))
            return Ratio(kind, m, m, None, str(exc), [])
    n = total(view, num, period=period, year=year, end_month=end_month, release=release)
    d = total(view, den, period=period, year=year, end_month=end_month, release=release)
    notes = list(dict.fromkeys(n.notes + d.notes))
    why = None
    value = None
    if n.value is None:
        why = f"numerator: {n.why}"
    elif d.value is None:
        why = f"denominator: {d.why}"
    elif d.value == 0:
        why = "the denominator is zero"
    elif num.dataset != den.dataset and n.definition["period"].get("covered") != d.definition["period"].get("covered"):
        why = (
            f"the two datasets cover different months ({num.dataset}: {n.definition['period'].get('covered')}; "
            f"{den.dataset}: {d.definition['period'].get('covered')})"
        )
    else:
        value = n.value / d.value
    return Ratio(kind, n, d, value, why, notes)


def share(
    con: Any,
    numerator: Side | Mapping[str, Any],
    denominator: Side | Mapping[str, Any],
    *,
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    release: str | None = None,
) -> Ratio:
    """The numerator's share of the denominator, e.g. ::

    share(con, {"dataset": "drug-seizures", "drug": "Fentanyl", "region": "Northern Border"},
               {"dataset": "drug-seizures", "drug": "Fentanyl", "region": "land borders"},
          period="fiscal", year=2024)
    """
    return _ratio("share", con, numerator, denominator, period, year, end_month, release)


def ratio(
    con: Any,
    numerator: Side | Mapping[str, Any],
    denominator: Side | Mapping[str, Any],
    *,
    period: str = "fiscal",
    year: int | None = None,
    end_month: str | date | None = None,
    release: str | None = None,
) -> Ratio:
    """Numerator over denominator, any two sides (datasets may differ if they cover the same months)."""
    return _ratio("ratio", con, numerator, denominator, period, year, end_month, release)
