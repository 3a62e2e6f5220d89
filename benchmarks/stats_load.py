"""Loading CBP's drug-seizure files into the statistics store, and one query (issue 5).

Times, in-process and repeated (``--repeat``, default 5; min and median printed):

* ``parse``: reading and validating both files (``borderwatch.stats.datasets.read_file``);
* ``load``: a fresh store (new DuckDB file, schema) and ``Store.load_many`` of both files,
  everything included: reading, validating, hashing, one transaction;
* ``query``: fentanyl seized in FY2024 by region (plain SQL over the store).

Target: ``load`` + ``query`` under 2 s on the 2-core machine. With ``--compare``, the bulk
insert is also timed the other ways one could do it (same validated rows, into an empty
table): DuckDB ``executemany`` (timed on 2,000 rows, extrapolated), ``INSERT ... SELECT
UNNEST(?)`` of Python lists, and a validated temporary CSV read back with ``read_csv``;
the store uses NumPy arrays registered as a view.

    python benchmarks/stats_load.py
    python benchmarks/stats_load.py --compare --repeat 7 --json-out bench-out/stats_load.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cbp"
FILES = ("nationwide-drugs-fy19-fy22.csv", "nationwide-drugs-fy23-fy26-dec.csv")
QUERY = (
    "SELECT region, round(sum(lbs), 1) AS lbs FROM drug_seizures "
    "WHERE drug = 'Fentanyl' AND fy = 2024 GROUP BY region ORDER BY region"
)


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def _summary(name: str, times: list[float]) -> dict[str, float]:
    d = {"min_s": min(times), "median_s": statistics.median(times), "max_s": max(times)}
    print(f"{name:<34} min {d['min_s'] * 1000:8.1f} ms   median {d['median_s'] * 1000:8.1f} ms   "
          f"max {d['max_s'] * 1000:8.1f} ms")  # fmt: skip
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the two drug-seizure CSVs")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--compare", action="store_true", help="also time other bulk-insert methods")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    import duckdb

    from borderwatch.stats.datasets import read_file
    from borderwatch.stats.store import Store, _insert_rows

    paths = [args.data / f for f in FILES]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"missing: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    rows = sum(read_file(p).rows for p in paths)
    print(f"{len(paths)} files, {rows:,} rows, {sum(p.stat().st_size for p in paths) / 1e6:.2f} MB; "
          f"duckdb {duckdb.__version__}; best of {args.repeat}")  # fmt: skip
    results: dict[str, Any] = {"rows": rows, "repeat": args.repeat}

    t, _ = _timed(lambda: [read_file(p) for p in paths], args.repeat)
    results["parse"] = _summary("parse + validate (both files)", t)

    with tempfile.TemporaryDirectory() as tmp:
        n = 0

        def load() -> Path:
            nonlocal n
            n += 1
            db = Path(tmp) / f"fresh-{n}.duckdb"
            with Store(db) as s:
                s.load_many(paths)
            return db

        t, db = _timed(load, args.repeat)
        results["load"] = _summary("fresh store + load both files", t)

        with Store(db, read_only=True) as s:
            t, got = _timed(lambda: s.con.execute(QUERY).fetchall(), args.repeat)
        results["query"] = _summary("query: fentanyl FY2024 by region", t)
        results["query_result"] = got
        print("   " + ", ".join(f"{r}: {v:,.1f} lb" for r, v in got))

        total = results["load"]["median_s"] + results["query"]["median_s"]
        results["load_plus_query_median_s"] = total
        print(f"load + query (medians): {total * 1000:.0f} ms  (target < 2000 ms: {'OK' if total < 2 else 'MISSED'})")

        if args.compare:
            results["insert"] = _compare(paths, Path(tmp), args.repeat, _insert_rows)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


def _compare(paths: list[Path], tmp: Path, repeat: int, insert_rows: Callable[..., None]) -> dict[str, Any]:
    import duckdb

    from borderwatch.stats.datasets import DRUG_COLUMNS, read_file
    from borderwatch.stats.store import SCHEMA

    parsed = [read_file(p) for p in paths]
    print("bulk insert only (validated rows, empty table):")
    con = duckdb.connect(str(tmp / "compare.duckdb"))
    con.execute(SCHEMA)
    cols = ", ".join(DRUG_COLUMNS)
    out: dict[str, Any] = {}

    def reset() -> None:
        con.execute("DELETE FROM drug_seizures")

    def numpy_view() -> None:
        reset()
        for pf in parsed:
            insert_rows(con, pf)

    def unnest_lists() -> None:
        reset()
        for pf in parsed:
            values = [pf.columns[c] for c in DRUG_COLUMNS]
            sel = ", ".join(f"unnest(${i + 2})" for i in range(len(DRUG_COLUMNS)))
            con.execute(f"INSERT INTO drug_seizures (release_id, {cols}) SELECT $1, {sel}", [pf.release_id, *values])

    def temp_csv() -> None:
        reset()
        for pf in parsed:
            f = tmp / "validated.csv"
            with f.open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(DRUG_COLUMNS)
                w.writerows(zip(*(pf.columns[c] for c in DRUG_COLUMNS), strict=True))
            con.execute(
                f"INSERT INTO drug_seizures (release_id, {cols}) SELECT ?, {cols} FROM read_csv(?, header=true)",
                [pf.release_id, str(f)],
            )

    def executemany_2000() -> None:
        reset()
        pf = parsed[0]
        recs = list(zip(*(pf.columns[c] for c in DRUG_COLUMNS), strict=True))[:2000]
        con.executemany(
            f"INSERT INTO drug_seizures (release_id, {cols}) VALUES (?, {', '.join('?' * len(DRUG_COLUMNS))})",
            [(pf.release_id, *r) for r in recs],
        )

    total = sum(pf.rows for pf in parsed)
    for name, fn in (("numpy arrays as a view (used)", numpy_view), ("INSERT SELECT unnest(lists)", unnest_lists),
                     ("temporary CSV + read_csv", temp_csv)):  # fmt: skip
        t, _ = _timed(fn, repeat)
        out[name] = _summary("  " + name, t)
    t, _ = _timed(executemany_2000, max(1, repeat // 2))
    scaled = [x * total / 2000 for x in t]
    out["executemany (extrapolated)"] = _summary("  executemany (2,000 rows, scaled)", scaled)
    con.close()
    return out


if __name__ == "__main__":
    sys.exit(main())
