"""The DuckDB store of border statistics (schema: docs/stats.md, "Schema").

``Store(path)`` opens (and creates) the database; :meth:`Store.load` validates a whole file
before it writes anything and then writes the release and its rows in one transaction, so
a file is either loaded completely or not at all. A file whose SHA-256 is already in the
store is not loaded again. :meth:`Store.diff` shows what CBP revised between two releases
of the same dataset over the months both cover.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import duckdb
import numpy as np

from .datasets import DATASETS, TABLE_OF, ParsedFile, StatsError, read_file

ENV_DB = "BORDERWATCH_STATS_DB"

SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
  release_id   VARCHAR PRIMARY KEY,
  dataset      VARCHAR NOT NULL,
  file_name    VARCHAR NOT NULL,
  sha256       VARCHAR NOT NULL UNIQUE,
  size_bytes   BIGINT NOT NULL,
  rows         BIGINT NOT NULL,
  loaded_at    TIMESTAMP NOT NULL,
  source_url   VARCHAR,
  label        VARCHAR,
  fy_first     INTEGER, fy_last INTEGER,
  last_month   DATE
);
CREATE TABLE IF NOT EXISTS drug_seizures (
  release_id VARCHAR NOT NULL, line INTEGER NOT NULL,
  fy INTEGER NOT NULL, fytd BOOLEAN NOT NULL,
  month DATE NOT NULL,
  component VARCHAR NOT NULL,
  region VARCHAR NOT NULL,
  land_only BOOLEAN NOT NULL,
  aor VARCHAR NOT NULL, drug VARCHAR NOT NULL,
  events INTEGER NOT NULL, lbs DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS encounters (
  release_id VARCHAR NOT NULL, line INTEGER NOT NULL,
  fy INTEGER NOT NULL, fytd BOOLEAN NOT NULL,
  month DATE,
  component VARCHAR,
  region VARCHAR,
  aor VARCHAR, state VARCHAR, demographic VARCHAR, citizenship VARCHAR,
  title VARCHAR, encounter_type VARCHAR,
  count BIGINT NOT NULL
);
"""

RELEASE_COLUMNS = (
    "release_id", "dataset", "file_name", "sha256", "size_bytes", "rows", "loaded_at",
    "source_url", "label", "fy_first", "fy_last", "last_month",
)  # fmt: skip

# Key of a row within a release (what identifies "the same row" in two releases), and
# its measures; month NULL (OHSS annual rows) is part of the key as such.
KEYS: dict[str, tuple[str, ...]] = {
    "drug_seizures": ("month", "component", "region", "land_only", "aor", "drug"),
    "encounters": ("fy", "month", "component", "region", "aor", "state", "demographic", "citizenship", "title",
                   "encounter_type"),
}  # fmt: skip
MEASURES: dict[str, tuple[str, ...]] = {"drug_seizures": ("events", "lbs"), "encounters": ("count",)}
LBS_TOLERANCE = 1e-6  # CBP's re-exports change the last bits of the weights; not a revision


def default_db_path() -> Path:
    """``$BORDERWATCH_STATS_DB``, else ``~/.local/share/borderwatch/stats.duckdb``."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "borderwatch" / "stats.duckdb"


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Release:
    """One loaded file (a row of ``releases``)."""

    release_id: str
    dataset: str
    file_name: str
    sha256: str
    size_bytes: int
    rows: int
    loaded_at: dt.datetime
    source_url: str | None
    label: str | None
    fy_first: int | None
    fy_last: int | None
    last_month: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
            for k, v in ((c, getattr(self, c)) for c in RELEASE_COLUMNS)
        }


@dataclass(frozen=True)
class LoadResult:
    """What :meth:`Store.load` did with one file."""

    path: Path
    release: Release
    loaded: bool  # False: the same file (SHA-256) was already in the store; nothing written
    notes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        r = self.release
        if not self.loaded:
            return (
                f"{self.path}: already loaded as release {r.release_id} ({r.dataset}, {r.label}, "
                f"same SHA-256); nothing to do"
            )
        return f"{self.path}: loaded {r.rows:,} rows as release {r.release_id} ({r.dataset}, {r.label})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "loaded": self.loaded,
            "message": self.message,
            "notes": list(self.notes),
            "release": self.release.to_dict(),
        }


@dataclass(frozen=True)
class RowChange:
    """One row that differs between two releases, identified by its key."""

    kind: str  # 'added' (only in b) | 'removed' (only in a) | 'changed'
    key: dict[str, Any]
    before: dict[str, float] | None  # measures in release a
    after: dict[str, float] | None  # measures in release b
    delta: dict[str, float]  # after - before (a missing side counts as 0)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": _jsonable(self.key), "before": self.before, "after": self.after,
                "delta": self.delta}  # fmt: skip


@dataclass(frozen=True)
class GroupChange:
    """The revisions of one month (``None``: an annual row) and region, summed."""

    month: dt.date | None
    fy: int
    region: str | None
    added: int
    removed: int
    changed: int
    before: dict[str, float]
    after: dict[str, float]
    delta: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.isoformat() if self.month else None, "fy": self.fy, "region": self.region,
            "added": self.added, "removed": self.removed, "changed": self.changed,
            "before": self.before, "after": self.after, "delta": self.delta,
        }  # fmt: skip


@dataclass(frozen=True)
class Diff:
    """What changed from release ``a`` to release ``b`` over the months both cover."""

    dataset: str
    a: Release
    b: Release
    first_month: dt.date | None  # overlap of the two releases (None: no common month)
    last_month: dt.date | None
    annual_fys: tuple[int, ...]  # fiscal years of annual rows compared (complete in both)
    measures: tuple[str, ...]
    rows_compared: int  # distinct keys in the overlap, either release
    changes: list[RowChange] = field(default_factory=list)
    groups: list[GroupChange] = field(default_factory=list)
    total_before: dict[str, float] = field(default_factory=dict)
    total_after: dict[str, float] = field(default_factory=dict)

    @property
    def overlaps(self) -> bool:
        return self.first_month is not None or bool(self.annual_fys)

    @property
    def identical(self) -> bool:
        return not self.changes

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def total_delta(self) -> dict[str, float]:
        return {m: _clean(self.total_after.get(m, 0) - self.total_before.get(m, 0)) for m in self.measures}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "overlap": {
                "first_month": self.first_month.isoformat() if self.first_month else None,
                "last_month": self.last_month.isoformat() if self.last_month else None,
                "annual_fys": list(self.annual_fys),
            },
            "measures": list(self.measures),
            "rows_compared": self.rows_compared,
            "added": self.count("added"),
            "removed": self.count("removed"),
            "changed": self.count("changed"),
            "total_before": self.total_before,
            "total_after": self.total_after,
            "total_delta": self.total_delta,
            "by_month_region": [g.to_dict() for g in self.groups],
            "rows": [c.to_dict() for c in self.changes],
        }


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in d.items()}


def _clean(v: float) -> float:
    """Round away float noise (sums of many weights) without hiding real changes."""
    return round(v, 9) if isinstance(v, float) else v


# ----------------------------------------------------------------------------- the store


class Store:
    """The statistics store (one DuckDB file). Use as a context manager or call :meth:`close`.

    ``read_only=True`` opens an existing store for reading (several readers may share it);
    it is an error if the file does not exist. :attr:`con` is the DuckDB connection, for
    queries.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise StatsError(
                    f"{self.path}: no statistics store here yet; load files first with `borderwatch stats load FILE`"
                )
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StatsError(
                    f"{self.path.parent}: cannot create the store's folder ({exc.strerror or exc})"
                ) from None
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "lock" in msg.lower():
                msg = "the store is in use by another borderwatch process (DuckDB allows one writer)"
            raise StatsError(f"{self.path}: cannot open the statistics store: {msg}") from None
        if not read_only:
            self.con.execute(SCHEMA)
        elif not self._has_schema():
            self.con.close()
            raise StatsError(f"{self.path}: not a borderwatch statistics store (no releases table)")

    def _has_schema(self) -> bool:
        got = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('releases','drug_seizures','encounters')"
        ).fetchone()
        return bool(got and got[0] == 3)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ loading

    def load(self, path: str | Path, *, source_url: str | None = None, dataset: str | None = None) -> LoadResult:
        """Validate ``path`` completely, then load it in one transaction (or not at all).

        ``dataset``: refuse the file unless it is this dataset. ``source_url``: where the
        file was downloaded from; when not given, the provenance written by
        :func:`borderwatch.stats.fetch.fetch` beside the file is used if its SHA-256 matches.
        Loading a file whose SHA-256 is already in the store is a no-op (``loaded=False``).
        """
        return self.load_many([path], source_urls=[source_url], dataset=dataset)[0]

    def load_many(
        self,
        paths: Sequence[str | Path],
        *,
        source_urls: Sequence[str | None] | None = None,
        dataset: str | None = None,
    ) -> list[LoadResult]:
        """Load several files all or nothing: every file is validated before any is written,
        and all are written in one transaction."""
        self._writable()
        urls = list(source_urls) if source_urls is not None else [None] * len(paths)
        if len(urls) != len(paths):
            raise ValueError("source_urls must match paths")
        parsed: list[ParsedFile] = [read_file(p, expect=dataset) for p in paths]
        results: list[LoadResult] = []
        new: list[tuple[ParsedFile, str | None]] = []
        pending: dict[str, Release] = {}
        for pf, url in zip(parsed, urls, strict=True):
            existing = self._release_by_sha(pf.sha256) or pending.get(pf.sha256)
            if existing is not None:
                results.append(LoadResult(pf.path, existing, False, tuple(pf.notes)))
                continue
            if url is None:
                url = _sidecar_url(pf)
            rel = Release(
                release_id=pf.release_id,
                dataset=pf.dataset,
                file_name=pf.path.name,
                sha256=pf.sha256,
                size_bytes=pf.size_bytes,
                rows=pf.rows,
                loaded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                source_url=url,
                label=pf.label,
                fy_first=pf.fy_first,
                fy_last=pf.fy_last,
                last_month=pf.last_month,
            )
            pending[pf.sha256] = rel
            new.append((pf, url))
            results.append(LoadResult(pf.path, rel, True, tuple(pf.notes)))
        if not new:
            return results
        con = self.con
        con.begin()
        try:
            for pf, _ in new:
                rel = pending[pf.sha256]
                con.execute(
                    f"INSERT INTO releases ({', '.join(RELEASE_COLUMNS)}) VALUES ({', '.join('?' * len(RELEASE_COLUMNS))})",
                    [getattr(rel, c) for c in RELEASE_COLUMNS],
                )
                _insert_rows(con, pf)
            con.commit()
        except BaseException as exc:
            con.rollback()
            if isinstance(exc, duckdb.Error):
                raise StatsError(
                    f"{self.path}: loading failed, nothing was written: {str(exc).splitlines()[0]}"
                ) from None
            raise
        return results

    def _writable(self) -> None:
        if self.read_only:
            raise StatsError(f"{self.path}: opened read-only")

    # ------------------------------------------------------------------ releases

    def _release_by_sha(self, sha256: str) -> Release | None:
        rows = self._releases("WHERE sha256 = ?", [sha256])
        return rows[0] if rows else None

    def _releases(self, where: str = "", params: Sequence[Any] = ()) -> list[Release]:
        cur = self.con.execute(
            f"SELECT {', '.join(RELEASE_COLUMNS)} FROM releases {where} "
            "ORDER BY dataset, last_month NULLS FIRST, loaded_at, release_id",
            list(params),
        )
        return [Release(*row) for row in cur.fetchall()]

    def releases(self, dataset: str | None = None) -> list[Release]:
        """All releases (of one dataset), oldest data first within each dataset."""
        if dataset is None:
            return self._releases()
        _check_dataset(dataset)
        return self._releases("WHERE dataset = ?", [dataset])

    def current_release(self, dataset: str) -> Release | None:
        """The release of ``dataset`` with the latest data (``last_month``; ties: loaded last)."""
        _check_dataset(dataset)
        rows = self.con.execute(
            f"SELECT {', '.join(RELEASE_COLUMNS)} FROM releases WHERE dataset = ? "
            "ORDER BY last_month DESC NULLS LAST, loaded_at DESC, release_id DESC LIMIT 1",
            [dataset],
        ).fetchall()
        return Release(*rows[0]) if rows else None

    def release(self, ref: str) -> Release:
        """A release by id, or by a unique prefix of its id or SHA-256 (at least 4 characters)."""
        ref = ref.strip().lower()
        if len(ref) < 4:
            raise StatsError(
                f"release {ref!r}: give at least 4 characters of its id (see `borderwatch stats releases`)"
            )
        rows = self._releases("WHERE starts_with(release_id, ?) OR starts_with(sha256, ?)", [ref, ref])
        if not rows:
            raise StatsError(f"no release {ref!r} in {self.path} (see `borderwatch stats releases`)")
        if len(rows) > 1:
            raise StatsError(f"release {ref!r} is ambiguous: {', '.join(r.release_id for r in rows)}")
        return rows[0]

    def counts(self) -> dict[str, int]:
        """Rows per table (for checks: a failed load leaves these unchanged)."""
        out: dict[str, int] = {}
        for t in ("releases", "drug_seizures", "encounters"):
            got = self.con.execute(f"SELECT count(*) FROM {t}").fetchone()
            out[t] = int(got[0]) if got else 0
        return out

    # ------------------------------------------------------------------ diff

    def diff(self, release_a: str | Release, release_b: str | Release) -> Diff:
        """Rows added, removed and changed from release ``a`` to release ``b`` (same
        dataset) over the months both cover, in detail and summed per month and region.

        Monthly rows are compared over the overlap of the two releases' month ranges;
        annual rows (OHSS) over the fiscal years complete (not FYTD) in both.
        """
        a = release_a if isinstance(release_a, Release) else self.release(release_a)
        b = release_b if isinstance(release_b, Release) else self.release(release_b)
        if a.dataset != b.dataset:
            raise StatsError(
                f"releases {a.release_id} ({a.dataset}) and {b.release_id} ({b.dataset}) are different datasets: "
                "diff compares two releases of the same dataset"
            )
        table = TABLE_OF[a.dataset]
        keys, measures = KEYS[table], MEASURES[table]
        con = self.con

        span = con.execute(
            f"SELECT greatest(min(CASE WHEN release_id = $a THEN month END), min(CASE WHEN release_id = $b THEN month END)),"
            f" least(max(CASE WHEN release_id = $a THEN month END), max(CASE WHEN release_id = $b THEN month END))"
            f" FROM {table} WHERE release_id IN ($a, $b) AND month IS NOT NULL",
            {"a": a.release_id, "b": b.release_id},
        ).fetchone()
        first, last = (span[0], span[1]) if span else (None, None)
        if first is None or last is None or first > last:
            first = last = None
        annual_fys: tuple[int, ...] = ()
        if table == "encounters":
            got = con.execute(
                "SELECT fy FROM encounters WHERE release_id IN ($a, $b) AND month IS NULL GROUP BY fy "
                "HAVING count(DISTINCT release_id) = 2 AND NOT bool_or(fytd) ORDER BY fy",
                {"a": a.release_id, "b": b.release_id},
            ).fetchall()
            annual_fys = tuple(int(r[0]) for r in got)

        in_scope = []
        params: dict[str, Any] = {}
        if first is not None:
            in_scope.append("(month BETWEEN $first AND $last)")
            params.update(first=first, last=last)
        if annual_fys:
            in_scope.append("(month IS NULL AND list_contains($fys, fy))")
            params["fys"] = list(annual_fys)
        if not in_scope:
            return Diff(a.dataset, a, b, None, None, (), measures, 0)
        scope = " OR ".join(in_scope)
        kcols = ", ".join(keys)
        agg = ", ".join(f"sum({m}) AS {m}" for m in measures)
        side = f"SELECT {kcols}, {agg} FROM {table} WHERE release_id = $R AND ({scope}) GROUP BY ALL"
        # Key parts may be NULL (encounters): match them with IS NOT DISTINCT FROM.
        on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in keys)
        cmp_ = " OR ".join(
            f"abs(a.{m} - b.{m}) > {LBS_TOLERANCE}" if m == "lbs" else f"a.{m} <> b.{m}" for m in measures
        )
        m0 = measures[0]
        sql = (
            f"WITH a AS ({side.replace('$R', '$ra')}), b AS ({side.replace('$R', '$rb')}) "
            f"SELECT {', '.join(f'coalesce(a.{k}, b.{k}) AS {k}' for k in keys)}, "
            f"{', '.join(f'a.{m}' for m in measures)}, {', '.join(f'b.{m}' for m in measures)}, "
            f"a.{m0} IS NULL AS only_b, b.{m0} IS NULL AS only_a, "
            f"(a.{m0} IS NULL OR b.{m0} IS NULL OR {cmp_}) AS differs "
            f"FROM a FULL OUTER JOIN b ON {on} ORDER BY {', '.join(f'{k} NULLS FIRST' for k in keys)}"
        )
        params.update(ra=a.release_id, rb=b.release_id)
        rows = con.execute(sql, params).fetchall()

        nk, nm = len(keys), len(measures)
        changes: list[RowChange] = []
        tot_a: dict[str, float] = dict.fromkeys(measures, 0)
        tot_b: dict[str, float] = dict.fromkeys(measures, 0)
        groups: dict[tuple[int, dt.date | None, str | None], dict[str, Any]] = {}
        for row in rows:
            key = dict(zip(keys, row[:nk], strict=True))
            va, vb = row[nk : nk + nm], row[nk + nm : nk + 2 * nm]
            only_b, only_a, differs = row[-3], row[-2], row[-1]
            before = None if only_b else {m: _num(v) for m, v in zip(measures, va, strict=True)}
            after = None if only_a else {m: _num(v) for m, v in zip(measures, vb, strict=True)}
            for m in measures:
                tot_a[m] += (before or {}).get(m, 0)
                tot_b[m] += (after or {}).get(m, 0)
            if not differs:
                continue
            kind = "added" if only_b else "removed" if only_a else "changed"
            delta = {m: _clean((after or {}).get(m, 0) - (before or {}).get(m, 0)) for m in measures}
            changes.append(RowChange(kind, key, before, after, delta))
            month = key.get("month")
            gk = (key["fy"] if "fy" in key else _fy_of(month), month, key.get("region"))
            g = groups.get(gk)
            if g is None:
                g = groups[gk] = {"added": 0, "removed": 0, "changed": 0,
                                  "before": dict.fromkeys(measures, 0), "after": dict.fromkeys(measures, 0)}  # fmt: skip
            g[kind] += 1
            for m in measures:
                g["before"][m] += (before or {}).get(m, 0)
                g["after"][m] += (after or {}).get(m, 0)
        group_list = [
            GroupChange(
                month=gk[1], fy=gk[0], region=gk[2], added=g["added"], removed=g["removed"], changed=g["changed"],
                before={m: _clean(v) for m, v in g["before"].items()},
                after={m: _clean(v) for m, v in g["after"].items()},
                delta={m: _clean(g["after"][m] - g["before"][m]) for m in measures},
            )
            for gk, g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or dt.date.min, kv[0][2] or ""))
        ]  # fmt: skip
        return Diff(
            dataset=a.dataset, a=a, b=b, first_month=first, last_month=last, annual_fys=annual_fys,
            measures=measures, rows_compared=len(rows), changes=changes, groups=group_list,
            total_before={m: _clean(v) for m, v in tot_a.items()}, total_after={m: _clean(v) for m, v in tot_b.items()},
        )  # fmt: skip


def _num(v: Any) -> float:
    return v if isinstance(v, float) else int(v)


def _fy_of(month: dt.date | None) -> int:
    if month is None:
        return 0
    return month.year + 1 if month.month >= 10 else month.year


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise StatsError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")


def _sidecar_url(pf: ParsedFile) -> str | None:
    from .fetch import read_provenance

    prov = read_provenance(pf.path)
    if prov and prov.get("sha256") == pf.sha256 and isinstance(prov.get("url"), str):
        return str(prov["url"])
    return None


# ----------------------------------------------------------------------------- bulk insert


def _insert_rows(con: duckdb.DuckDBPyConnection, pf: ParsedFile) -> None:
    """Insert a parsed file's rows in one statement: the columns go to DuckDB as NumPy
    arrays (a registered view, no per-row Python work); months as month numbers."""
    cols = pf.columns
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    n = pf.rows
    for name, values in cols.items():
        if name == "month":
            arrays[name] = np.fromiter(
                (-1 if m is None else m.year * 12 + m.month - 1 for m in values), dtype=np.int32, count=n
            )
        elif name in ("line", "fy", "events"):
            arrays[name] = np.asarray(values, dtype=np.int32)
        elif name == "count":
            arrays[name] = np.asarray(values, dtype=np.int64)
        elif name == "lbs":
            arrays[name] = np.asarray(values, dtype=np.float64)
        elif name in ("fytd", "land_only"):
            arrays[name] = np.asarray(values, dtype=np.bool_)
        else:
            arr = np.empty(n, dtype=object)
            arr[:] = values
            arrays[name] = arr
    view = "_bw_load_rows"
    exprs = []
    for name in cols:
        if name == "month":
            exprs.append(
                "CASE WHEN month < 0 THEN NULL ELSE make_date((month // 12)::INTEGER, (month % 12 + 1)::INTEGER, 1) END"
            )
        else:
            exprs.append(name)
    con.register(view, arrays)
    try:
        con.execute(
            f"INSERT INTO {pf.table} (release_id, {', '.join(cols)}) SELECT ?, {', '.join(exprs)} FROM {view}",
            [pf.release_id],
        )
    finally:
        con.unregister(view)


def load_files(paths: Iterable[str | Path], db: str | Path | None = None) -> list[LoadResult]:
    """Convenience: open the store at ``db`` (default path), load ``paths``, close."""
    with Store(db) as store:
        return store.load_many(list(paths))
