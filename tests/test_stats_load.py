"""Border statistics: loaders, the DuckDB store (load, releases, diff), fetch and their CLI.

Real files come from ``../shared/data/cbp`` (the ``shared_data`` fixture skips without
them); everything else is written here. The nationwide-encounters fixtures are made from
CBP's published column list (no real file of that dataset is available).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from borderwatch.cli import main
from borderwatch.errors import BorderwatchError
from borderwatch.stats.datasets import (
    DataFormatError,
    StatsError,
    WrongDataset,
    calendar_month,
    detect,
    parse_fiscal_year,
    read_file,
)
from borderwatch.stats.fetch import (
    ChecksumMismatch,
    FetchError,
    FetchRefused,
    fetch,
    fetch_file,
    read_provenance,
)
from borderwatch.stats.store import Store, default_db_path

DRUGS_OLD = "nationwide-drugs-fy19-fy22.csv"
DRUGS_NEW = "nationwide-drugs-fy23-fy26-dec.csv"
SBO = "sbo-encounters-fy22-fy25-aug.csv"
OHSS = "ohss-khsm-encounters-usbp-fy25m11.xlsx"

DRUG_HEADER = (
    "FY,Month (abbv),Component,Region,Land Filter,Area of Responsibility,Drug Type,Count of Event,Sum Qty (lbs)"
)
AOR_HEADER = (
    "Fiscal Year,Month Grouping,Month (abbv),Component,Land Border Region,Area of Responsibility,AOR (Abbv),"
    "Demographic,Citizenship,Title of Authority,Encounter Type,Encounter Count"
)
STATE_HEADER = (
    "Fiscal Year,Month Grouping,Month (abbv),Land Border Region,State,Demographic,Citizenship,"
    "Title of Authority,Encounter Count"
)
SBO_HEADER = (
    "Fiscal Year,Month Grouping,Month (abbv),Component,Demographic,Citizenship Grouping,"
    "Title of Authority,Encounter Type,Encounter Count"
)


def write_csv(path: Path, header: str, rows: list[str], *, eol: str = "\r\n", final_eol: bool = True) -> Path:
    text = eol.join([header, *rows]) + (eol if final_eol else "")
    path.write_bytes(text.encode("utf-8"))
    return path


def drug_row(
    fy: str = "2024",
    month: str = "JAN",
    comp: str = "U.S. Border Patrol",
    region: str = "Northern Border",
    land: str = "Land Only",
    aor: str = "BLAINE SECTOR",
    drug: str = "Fentanyl",
    events: str = "1",
    lbs: str = "0.5",
) -> str:
    return f"{fy},{month},{comp},{region},{land},{aor},{drug},{events},{lbs}"


GOOD_DRUG_ROWS = [
    drug_row(),
    drug_row(month="FEB", drug="Cocaine", events="2", lbs="12.25"),
    drug_row(comp="Office of Field Operations", aor="SEATTLE FIELD OFFICE", land="Other", drug="Other Drugs**"),
    drug_row(region="Southwest Border", aor="TUCSON SECTOR", events="3", lbs="101.5"),
    drug_row(fy="2025 (FYTD)", month="OCT", region="Coastal/Interior", land="Other", aor="MIAMI SECTOR"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "db" / "stats.duckdb") as s:
        yield s


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A store with both real drug-seizure files (made once for the module)."""
    path = tmp_path_factory.mktemp("loaded") / "stats.duckdb"
    with Store(path) as s:
        s.load_many([shared_data / "cbp" / DRUGS_OLD, shared_data / "cbp" / DRUGS_NEW])
    return path


def snapshot(s: Store) -> tuple[dict[str, int], list[str]]:
    return s.counts(), [r.release_id for r in s.releases()]


# ---------------------------------------------------------------------------- the figures


def test_fentanyl_fy2024_reproduces_cbp(loaded_db: Path) -> None:
    """CBP's published FY2024 fentanyl totals: Northern Border 43.0 lb, Southwest Border
    21,148.2 lb. Definition: fiscal year 2024 (Oct 2023-Sep 2024), both components (OFO +
    USBP), both Land Filter values (Land Only + Other), release FY2023-FY2026 (Dec 2025)."""
    with Store(loaded_db, read_only=True) as s:
        rows = s.con.execute(
            "SELECT region, round(sum(lbs), 1) FROM drug_seizures "
            "WHERE drug = 'Fentanyl' AND fy = 2024 GROUP BY region ORDER BY region"
        ).fetchall()
        got = dict(rows)
        assert got["Northern Border"] == 43.0
        assert got["Southwest Border"] == 21148.2
        # Land Only alone does not reproduce them (OFO's air/sea ports in the region count).
        land = dict(
            s.con.execute(
                "SELECT region, round(sum(lbs), 1) FROM drug_seizures "
                "WHERE drug = 'Fentanyl' AND fy = 2024 AND land_only GROUP BY region"
            ).fetchall()
        )
        assert land["Northern Border"] != 43.0 and land["Southwest Border"] != 21148.2
        # FY2024 rows all come from the FY23-FY26 release; FY2024 runs Oct 2023 - Sep 2024.
        span = s.con.execute(
            "SELECT DISTINCT r.label, min(d.month), max(d.month), bool_or(d.fytd) FROM drug_seizures d "
            "JOIN releases r USING (release_id) WHERE d.fy = 2024 GROUP BY r.label"
        ).fetchall()
        assert span == [("FY2023-FY2026 (Dec 2025)", dt.date(2023, 10, 1), dt.date(2024, 9, 1), False)]


def test_real_drug_files_releases(loaded_db: Path) -> None:
    with Store(loaded_db, read_only=True) as s:
        rels = s.releases("drug-seizures")
        assert [(r.file_name, r.rows, r.label, r.fy_first, r.fy_last) for r in rels] == [
            (DRUGS_OLD, 10092, "FY2019-FY2022 (Sep 2022)", 2019, 2022),
            (DRUGS_NEW, 7895, "FY2023-FY2026 (Dec 2025)", 2023, 2026),
        ]
        assert all(len(r.sha256) == 64 and r.release_id == r.sha256[:12] for r in rels)
        cur = s.current_release("drug-seizures")
        assert cur is not None and cur.file_name == DRUGS_NEW and cur.last_month == dt.date(2025, 12, 1)
        assert s.counts()["drug_seizures"] == 10092 + 7895
        # FY2026 (FYTD): OCT-DEC are calendar 2025.
        fytd = s.con.execute("SELECT DISTINCT fy, fytd, month FROM drug_seizures WHERE fytd ORDER BY month").fetchall()
        assert fytd == [(2026, True, dt.date(2025, m, 1)) for m in (10, 11, 12)]
        # The two files share no month: diff says so.
        d = s.diff(rels[0].release_id, rels[1].release_id)
        assert not d.overlaps and d.identical and d.rows_compared == 0


def test_load_speed(shared_data: Path, tmp_path: Path) -> None:
    """Both drug files into a fresh store (target < 2 s; see benchmarks/stats_load.py)."""
    t0 = time.perf_counter()
    with Store(tmp_path / "fresh.duckdb") as s:
        s.load_many([shared_data / "cbp" / DRUGS_OLD, shared_data / "cbp" / DRUGS_NEW])
    assert time.perf_counter() - t0 < 2.0


# ---------------------------------------------------------------------------- parsing details


def test_fiscal_years_and_months() -> None:
    assert parse_fiscal_year("2024") == (2024, False)
    assert parse_fiscal_year("2026 (FYTD)") == (2026, True)
    assert parse_fiscal_year(2019) == (2019, False)
    for bad in ("FY24", "2024 (YTD)", "20x4", "", "1850"):
        with pytest.raises(ValueError):
            parse_fiscal_year(bad)
    assert calendar_month(2026, 0) == dt.date(2025, 10, 1)  # OCT of FY2026
    assert calendar_month(2026, 2) == dt.date(2025, 12, 1)  # DEC
    assert calendar_month(2026, 3) == dt.date(2026, 1, 1)  # JAN
    assert calendar_month(2026, 11) == dt.date(2026, 9, 1)  # SEP


def test_synthetic_drug_file_normalised(tmp_path: Path) -> None:
    rows = [
        *GOOD_DRUG_ROWS,
        '2024,MAR,U.S. Border Patrol,Northern Border,Land Only,HAVRE SECTOR,Marijuana,"1,204","2,500.75"',
    ]
    pf = read_file(write_csv(tmp_path / "d.csv", DRUG_HEADER, rows))
    assert pf.dataset == "drug-seizures" and pf.rows == 6
    recs = list(pf.records())
    assert recs[0] == {
        "line": 2, "fy": 2024, "fytd": False, "month": dt.date(2024, 1, 1), "component": "USBP",
        "region": "Northern Border", "land_only": True, "aor": "BLAINE SECTOR", "drug": "Fentanyl",
        "events": 1, "lbs": 0.5,
    }  # fmt: skip
    assert recs[2]["component"] == "OFO" and recs[2]["drug"] == "Other Drugs**" and recs[2]["land_only"] is False
    assert recs[4]["fy"] == 2025 and recs[4]["fytd"] is True and recs[4]["month"] == dt.date(2024, 10, 1)
    assert recs[5]["events"] == 1204 and recs[5]["lbs"] == 2500.75  # thousands separators
    assert pf.label == "FY2024-FY2025 (Oct 2024)" and pf.fytd_years == (2025,)


def test_bom_lf_and_blank_lines_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + DRUG_HEADER.lower() + "\n" + "\n".join(GOOD_DRUG_ROWS[:2]) + "\n\n"
    f = tmp_path / "bom.csv"
    f.write_bytes(text.encode("utf-8"))
    pf = read_file(f)
    assert pf.rows == 2 and [r["line"] for r in pf.records()] == [2, 3]


# ---------------------------------------------------------------------------- malformed input

MALFORMED: list[tuple[str, Callable[[Path], Path], str, list[str]]] = [
    (
        "missing column",
        lambda p: write_csv(
            p, DRUG_HEADER.replace(",Drug Type", ""), [r.replace(",Fentanyl", "") for r in [drug_row()]]
        ),
        "missing column 'Drug Type'",
        ["line 1"],
    ),
    (
        "unknown region",
        lambda p: write_csv(p, DRUG_HEADER, [*GOOD_DRUG_ROWS[:2], drug_row(region="Northern Borderland")]),
        "unknown region 'Northern Borderland'",
        ["line 4", "column 4 ('Region')"],
    ),
    (
        "non-numeric weight",
        lambda p: write_csv(p, DRUG_HEADER, [*GOOD_DRUG_ROWS[:3], drug_row(lbs='"12,5 lb"')]),
        "not a number: '12,5 lb'",
        ["line 5", "column 9 ('Sum Qty (lbs)')"],
    ),
    (
        "non-numeric count",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(events="three")]),
        "not a whole number: 'three'",
        ["line 2", "column 8 ('Count of Event')"],
    ),
    (
        "negative weight",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(lbs="-4")]),
        "negative weight",
        ["line 2", "column 9"],
    ),
    (
        "truncated mid-row",
        lambda p: write_csv(
            p, DRUG_HEADER, [*GOOD_DRUG_ROWS, "2024,JAN,U.S. Border Patrol,Northern Bor"], final_eol=False
        ),
        "only 4 of 9 fields",
        ["line 7", "truncated"],
    ),
    (
        "truncated inside the last number",
        lambda p: write_csv(p, DRUG_HEADER, [*GOOD_DRUG_ROWS, drug_row(lbs="10")[:-1]], final_eol=False),
        "the last line has no line break",
        ["line 7", "truncated"],
    ),
    (
        "fewer columns",
        lambda p: write_csv(
            p, DRUG_HEADER, [GOOD_DRUG_ROWS[0], "2024,JAN,U.S. Border Patrol,Northern Border,Land Only"]
        ),
        "only 5 of 9 fields",
        ["line 3", "column 6 ('Area of Responsibility')"],
    ),
    (
        "extra field",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row() + ",extra"]),
        "10 fields where the header has 9",
        ["line 2"],
    ),
    (
        "bad FY text",
        lambda p: write_csv(p, DRUG_HEADER, [GOOD_DRUG_ROWS[0], drug_row(fy="2026 (FYTO)")]),
        "fiscal year '2026 (FYTO)' is not a year",
        ["line 3", "column 1 ('FY')"],
    ),
    (
        "unknown month",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(month="JANUARY")]),
        "unknown month 'JANUARY'",
        ["line 2", "column 2 ('Month (abbv)')"],
    ),
    (
        "unknown drug",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(drug="Other Drugs")]),
        "unknown drug type 'Other Drugs'",
        ["line 2", "column 7"],
    ),
    (
        "unknown component",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(comp="Air and Marine Operations")]),
        "unknown component 'Air and Marine Operations'",
        ["line 2", "column 3"],
    ),
    (
        "unknown land filter",
        lambda p: write_csv(p, DRUG_HEADER, [drug_row(land="Land")]),
        "unknown land filter 'Land'",
        ["line 2", "column 5"],
    ),
    (
        "unclosed quote",
        lambda p: write_csv(p, DRUG_HEADER, [GOOD_DRUG_ROWS[0], drug_row(aor='"BLAINE SECTOR')]),
        "ends inside a quoted field",
        ["truncated"],
    ),
    (
        "wrong dataset",
        lambda p: write_csv(p, "file,counting_line,direction,count", ["a.mp4,border,in,3"]),
        "not a file borderwatch can load",
        ["line 1", "Nationwide Drug Seizures"],
    ),
    (
        "web page saved as CSV",
        lambda p: write_csv(p, "<!DOCTYPE html>", ["<html><body>Access denied</body></html>"]),
        "this is a web page (HTML)",
        ["line 1"],
    ),
    (
        "header only",
        lambda p: write_csv(p, DRUG_HEADER, []),
        "no data rows",
        [],
    ),
    (
        "empty file",
        lambda p: (p.write_bytes(b""), p)[1],
        "the file is empty",
        [],
    ),
    (
        "binary file",
        lambda p: (p.write_bytes(b"\x00\x01\x02garbage" * 10), p)[1],
        "not a text (CSV) file",
        [],
    ),
]


@pytest.mark.parametrize(("case", "make", "message", "where"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_rejected_and_store_unchanged(
    tmp_path: Path, store: Store, case: str, make: Callable[[Path], Path], message: str, where: list[str]
) -> None:
    store.load(write_csv(tmp_path / "good.csv", DRUG_HEADER, GOOD_DRUG_ROWS))
    before = snapshot(store)
    bad = make(tmp_path / "bad-file.csv")
    with pytest.raises(DataFormatError) as info:
        store.load(bad)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(bad)), text
    assert message in text, text
    for w in where:
        assert w in text, text
    assert snapshot(store) == before


def test_every_problem_listed(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "b.csv", DRUG_HEADER, [drug_row(lbs="x"), drug_row(), drug_row(region="Nowhere")])
    with pytest.raises(DataFormatError) as info:
        read_file(bad)
    assert "(and 1 more problem in this file)" in str(info.value)
    assert [(p[0], p[1]) for p in info.value.problems] == [(2, "9 ('Sum Qty (lbs)')"), (4, "4 ('Region')")]


def test_wrong_dataset_when_expected(shared_data: Path, store: Store) -> None:
    before = snapshot(store)
    with pytest.raises(
        WrongDataset, match=r"Southwest Land Border Encounters file \(sbo-encounters\), not the expected"
    ):
        store.load(shared_data / "cbp" / SBO, dataset="drug-seizures")
    with pytest.raises(WrongDataset, match="not the expected"):
        store.load(shared_data / "cbp" / OHSS, dataset="drug-seizures")
    assert snapshot(store) == before


def test_several_files_all_or_nothing(tmp_path: Path, store: Store) -> None:
    good = write_csv(tmp_path / "good.csv", DRUG_HEADER, GOOD_DRUG_ROWS)
    bad = write_csv(tmp_path / "bad.csv", DRUG_HEADER, [drug_row(lbs="n/a")])
    before = snapshot(store)
    with pytest.raises(DataFormatError, match="bad.csv, line 2"):
        store.load_many([good, bad])
    assert snapshot(store) == before
    with pytest.raises(BorderwatchError, match="missing.csv: no such file"):
        store.load_many([good, tmp_path / "missing.csv"])
    assert snapshot(store) == before


# ---------------------------------------------------------------------------- idempotence


def test_loading_twice_is_a_noop(tmp_path: Path, store: Store) -> None:
    f = write_csv(tmp_path / "d.csv", DRUG_HEADER, GOOD_DRUG_ROWS)
    first = store.load(f)
    assert first.loaded and first.release.rows == 5 and "loaded 5 rows" in first.message
    after = snapshot(store)
    again = store.load(f)
    assert not again.loaded and again.release == first.release
    assert "already loaded" in again.message and "nothing to do" in again.message
    copy = tmp_path / "renamed copy.csv"
    shutil.copy(f, copy)
    assert not store.load(copy).loaded  # same bytes under another name: same release
    both = store.load_many([f, copy])
    assert [r.loaded for r in both] == [False, False]
    assert snapshot(store) == after


def test_store_default_path_and_reopen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BORDERWATCH_STATS_DB", str(tmp_path / "env" / "x.duckdb"))
    assert default_db_path() == tmp_path / "env" / "x.duckdb"
    with Store() as s:  # creates the folder
        s.load(write_csv(tmp_path / "d.csv", DRUG_HEADER, GOOD_DRUG_ROWS), source_url="https://example.org/d.csv")
    with Store(read_only=True) as s:
        (rel,) = s.releases()
        assert rel.source_url == "https://example.org/d.csv" and rel.rows == 5
        assert s.release(rel.release_id[:6]) == rel
        with pytest.raises(StatsError, match="opened read-only"):
            s.load(tmp_path / "d.csv")
    monkeypatch.delenv("BORDERWATCH_STATS_DB")
    assert default_db_path() == Path.home() / ".local" / "share" / "borderwatch" / "stats.duckdb"
    with pytest.raises(StatsError, match="no statistics store here yet"):
        Store(tmp_path / "none.duckdb", read_only=True)


# ---------------------------------------------------------------------------- diff

# Release A: Oct 2023 - Dec 2023; release B (revised, one month later): Nov 2023 - Jan 2024.
DIFF_A = [
    drug_row(month="OCT", lbs="9.0"),  # outside the overlap: not compared
    drug_row(month="NOV", lbs="1.5"),  # unchanged
    drug_row(month="NOV", drug="Cocaine", events="2", lbs="10.0"),  # revised: 3 events, 12.5 lb
    drug_row(month="DEC", region="Southwest Border", aor="TUCSON SECTOR", lbs="100.0"),  # removed in B
    drug_row(month="DEC", comp="Office of Field Operations", land="Other", aor="SEATTLE FIELD OFFICE", lbs="2.25"),
]
DIFF_B = [
    drug_row(month="NOV", lbs="1.5"),
    drug_row(month="NOV", drug="Cocaine", events="3", lbs="12.5"),
    drug_row(month="DEC", comp="Office of Field Operations", land="Other", aor="SEATTLE FIELD OFFICE", lbs="2.25"),
    drug_row(month="DEC", drug="Heroin", lbs="0.75"),  # added
    drug_row(month="JAN", lbs="7.0"),  # outside the overlap
]


def test_diff_shows_exactly_the_revisions(tmp_path: Path, store: Store) -> None:
    a = store.load(write_csv(tmp_path / "a.csv", DRUG_HEADER, DIFF_A))
    b = store.load(write_csv(tmp_path / "b.csv", DRUG_HEADER, DIFF_B))
    d = store.diff(a.release.release_id, b.release.release_id[:8])
    assert (d.first_month, d.last_month) == (dt.date(2023, 11, 1), dt.date(2023, 12, 1))
    assert d.rows_compared == 5  # 4 keys in A's Nov-Dec, 4 in B's, 3 shared
    got = {(c.kind, c.key["month"], c.key["drug"], c.key["region"]): (c.before, c.after, c.delta) for c in d.changes}
    assert got == {
        ("changed", dt.date(2023, 11, 1), "Cocaine", "Northern Border"): (
            {"events": 2, "lbs": 10.0}, {"events": 3, "lbs": 12.5}, {"events": 1, "lbs": 2.5},
        ),
        ("removed", dt.date(2023, 12, 1), "Fentanyl", "Southwest Border"): (
            {"events": 1, "lbs": 100.0}, None, {"events": -1, "lbs": -100.0},
        ),
        ("added", dt.date(2023, 12, 1), "Heroin", "Northern Border"): (
            None, {"events": 1, "lbs": 0.75}, {"events": 1, "lbs": 0.75},
        ),
    }  # fmt: skip
    removed = next(c for c in d.changes if c.kind == "removed")
    assert removed.key == {
        "month": dt.date(2023, 12, 1), "component": "USBP", "region": "Southwest Border", "land_only": True,
        "aor": "TUCSON SECTOR", "drug": "Fentanyl",
    }  # fmt: skip
    groups = {(g.month, g.region): (g.changed, g.added, g.removed, g.delta) for g in d.groups}
    assert groups == {
        (dt.date(2023, 11, 1), "Northern Border"): (1, 0, 0, {"events": 1, "lbs": 2.5}),
        (dt.date(2023, 12, 1), "Northern Border"): (0, 1, 0, {"events": 1, "lbs": 0.75}),
        (dt.date(2023, 12, 1), "Southwest Border"): (0, 0, 1, {"events": -1, "lbs": -100.0}),
    }
    assert d.total_delta == {"events": 1, "lbs": -96.75}
    assert d.total_before == {"events": 5, "lbs": 113.75}
    assert d.total_after == {"events": 6, "lbs": 17.0}
    assert json.loads(json.dumps(d.to_dict()))["changed"] == 1
    # The other way round: added and removed swap.
    back = store.diff(b.release, a.release)
    assert sorted(c.kind for c in back.changes) == ["added", "changed", "removed"]
    assert back.total_delta == {"events": -1, "lbs": 96.75}
    # Same release against itself: nothing.
    assert store.diff(a.release, a.release).identical


def test_diff_ignores_float_noise_and_refuses_mixed_datasets(tmp_path: Path, store: Store, shared_data: Path) -> None:
    a = store.load(write_csv(tmp_path / "a.csv", DRUG_HEADER, [drug_row(lbs="147.048328754")]))
    b = store.load(write_csv(tmp_path / "b.csv", DRUG_HEADER, [drug_row(lbs="147.04832875399998")]))
    assert store.diff(a.release, b.release).identical
    s = store.load(shared_data / "cbp" / SBO)
    with pytest.raises(StatsError, match="different datasets"):
        store.diff(a.release, s.release)
    with pytest.raises(StatsError, match="no release"):
        store.diff("ffffffff", a.release.release_id)


def test_diff_encounters_with_empty_categories(tmp_path: Path, store: Store) -> None:
    """Encounter keys have NULL parts (the SBO file has no AOR or state): still matched."""
    rows_a = [
        "2024,FYTD,JAN,U.S. Border Patrol,Single Adults,Mexico,Title 8,Apprehensions,1000",
        "2024,FYTD,JAN,Office of Field Operations,FMUA,Honduras,Title 8,Inadmissibles,40",
    ]
    rows_b = [
        "2024,FYTD,JAN,U.S. Border Patrol,Single Adults,Mexico,Title 8,Apprehensions,1012",
        "2024,FYTD,JAN,Office of Field Operations,FMUA,Honduras,Title 8,Inadmissibles,40",
    ]
    a = store.load(write_csv(tmp_path / "sa.csv", SBO_HEADER, rows_a))
    b = store.load(write_csv(tmp_path / "sb.csv", SBO_HEADER, rows_b))
    d = store.diff(a.release, b.release)
    assert [(c.kind, c.key["citizenship"], c.key["aor"], c.delta) for c in d.changes] == [
        ("changed", "Mexico", None, {"count": 12})
    ]
    assert [(g.month, g.region, g.delta) for g in d.groups] == [
        (dt.date(2024, 1, 1), "Southwest Land Border", {"count": 12})
    ]


# ---------------------------------------------------------------------------- encounters


def test_sbo_file_loads(shared_data: Path, store: Store) -> None:
    r = store.load(shared_data / "cbp" / SBO)
    assert r.release.dataset == "sbo-encounters" and r.release.rows == 1936
    assert r.release.label == "FY2022-FY2025 (Aug 2025)"
    (row,) = store.con.execute(
        "SELECT count(DISTINCT region), min(month), max(month), sum(count) FILTER (WHERE fytd) FROM encounters"
    ).fetchall()
    assert row[0] == 1 and row[1] == dt.date(2021, 10, 1) and row[2] == dt.date(2025, 8, 1)
    assert store.con.execute("SELECT DISTINCT fy FROM encounters WHERE fytd").fetchall() == [(2025,)]
    types = store.con.execute(
        "SELECT DISTINCT component, title, encounter_type FROM encounters ORDER BY ALL"
    ).fetchall()
    assert types == [
        ("OFO", "Title 42", "Expulsions"), ("OFO", "Title 8", "Inadmissibles"),
        ("USBP", "Title 42", "Expulsions"), ("USBP", "Title 8", "Apprehensions"),
    ]  # fmt: skip


def test_ohss_workbook_loads(shared_data: Path, store: Store) -> None:
    r = store.load(shared_data / "cbp" / OHSS)
    rel = r.release
    assert (rel.dataset, rel.fy_first, rel.fy_last, rel.last_month) == ("ohss-usbp", 2000, 2025, dt.date(2024, 11, 1))
    assert any("FY2025 has 2 month(s)" in n for n in r.notes)
    q = store.con.execute
    # "Annual Region": month NULL, three regions, FY2000-FY2025; coastal is 'Other'.
    annual = q("SELECT fy, region, count FROM encounters WHERE month IS NULL ORDER BY fy, region").fetchall()
    assert len(annual) == 78
    assert annual[:3] == [
        (2000, "Northern Land Border", 14170),
        (2000, "Other", 9720),
        (2000, "Southwest Land Border", 1566420),
    ]
    # "Monthly Region": Oct 1999 (FY2000) to Nov 2024 (FY2025, marked FYTD).
    (m,) = q("SELECT min(month), max(month), count(*) FROM encounters WHERE month IS NOT NULL").fetchall()
    assert m == (dt.date(1999, 10, 1), dt.date(2024, 11, 1), 906)
    assert q(
        "SELECT count FROM encounters WHERE month = DATE '2024-10-01' AND region = 'Southwest Land Border'"
    ).fetchall() == [(56530,)]
    assert q("SELECT DISTINCT fy FROM encounters WHERE fytd").fetchall() == [(2025,)]
    assert q("SELECT DISTINCT component FROM encounters").fetchall() == [("USBP",)]


def test_ohss_malformed_workbooks(tmp_path: Path, store: Store) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    before = snapshot(store)
    wb = openpyxl.Workbook()
    wb.active.title = "Something Else"
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(WrongDataset, match="no sheet 'Annual Region'"):
        store.load(tmp_path / "other.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Annual Region"
    ws.append(["Fiscal\nYear", "Region", "Quantity"])
    ws.append([2023, "Northern Land Border", 10])
    ws.append([2023, "Canadian Border", 20])
    ws.append([2024, "Southwest Land Border", "lots"])
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(DataFormatError) as info:
        store.load(tmp_path / "bad.xlsx")
    text = str(info.value)
    assert "bad.xlsx, sheet 'Annual Region', row 3, column B ('Region'): unknown region 'Canadian Border'" in text
    assert "1 more problem" in text
    (tmp_path / "junk.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataFormatError, match="not a readable Excel workbook"):
        store.load(tmp_path / "junk.xlsx")
    assert snapshot(store) == before


def test_diff_ohss_annual_rows(tmp_path: Path, store: Store) -> None:
    openpyxl = pytest.importorskip("openpyxl")

    def book(name: str, rows: list[tuple[int, str, int]]) -> Path:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Annual Region"
        ws.append(["Fiscal\nYear", "Region", "Quantity"])
        for r in rows:
            ws.append(list(r))
        wb.save(tmp_path / name)
        return tmp_path / name

    a = store.load(book("a.xlsx", [(2023, "Northern Land Border", 10), (2023, "Southwest Land Border", 100)]))
    b = store.load(
        book(
            "b.xlsx",
            [(2023, "Northern Land Border", 20), (2023, "Southwest Land Border", 100), (2024, "Coastal Border", 5)],
        )
    )
    d = store.diff(a.release, b.release)
    assert d.annual_fys == (2023,) and d.first_month is None and d.overlaps
    assert [(c.kind, c.key["fy"], c.key["month"], c.key["region"], c.delta) for c in d.changes] == [
        ("changed", 2023, None, "Northern Land Border", {"count": 10})
    ]
    assert [(g.fy, g.month, g.region, g.delta) for g in d.groups] == [
        (2023, None, "Northern Land Border", {"count": 10})
    ]


def test_nationwide_encounters_aor_fixture(tmp_path: Path, store: Store) -> None:
    """Built from CBP's published column list (no real file here)."""
    rows = [
        "2024,FYTD,JAN,U.S. Border Patrol,Northern Land Border,Swanton Sector,Swanton,Single Adults,MEXICO,"
        + "Title 8,Apprehensions,1203",
        "2024,FYTD,JAN,Office of Field Operations,Northern Land Border,Buffalo Field Office,Buffalo,FMUA,"
        + '"CHINA, PEOPLES REPUBLIC OF",Title 8,Inadmissibles,"1,040"',
        "2024,FYTD,FEB,Office of Field Operations,Other,Houston Field Office,Houston,UC / Single Minors,INDIA,"
        + "Title 8,Inadmissibles,3",
        "2024,FYTD,FEB,U.S. Border Patrol,Southwest Land Border,Tucson Sector,Tucson,FMUA,OTHER,Title 42,Expulsions,0",
        "2025 (FYTD),FYTD,OCT,U.S. Border Patrol,Southwest Land Border,San Diego Sector,San Diego,Single Adults,"
        + "MEXICO,Title 8,Apprehensions,5402",
    ]
    f = write_csv(tmp_path / "nationwide-encounters-fy24-fy25-oct-aor.csv", AOR_HEADER, rows)
    assert detect(f) == "encounters-aor"
    r = store.load(f)
    assert (
        r.release.dataset == "encounters-aor" and r.release.rows == 5 and r.release.label == "FY2024-FY2025 (Oct 2024)"
    )
    got = store.con.execute(
        "SELECT component, region, aor, state, citizenship, encounter_type, count, month FROM encounters ORDER BY line"
    ).fetchall()
    assert got[1] == ("OFO", "Northern Land Border", "Buffalo Field Office", None, "CHINA, PEOPLES REPUBLIC OF",
                      "Inadmissibles", 1040, dt.date(2024, 1, 1))  # fmt: skip
    assert got[4][-1] == dt.date(2024, 10, 1)
    bad = write_csv(tmp_path / "bad-aor.csv", AOR_HEADER, [rows[0].replace("Northern Land Border", "Northern Border")])
    with pytest.raises(DataFormatError, match=r"line 2, column 5 \('Land Border Region'\): unknown land border region"):
        store.load(bad)


def test_nationwide_encounters_state_fixture(tmp_path: Path, store: Store) -> None:
    rows = [
        "2024,FYTD,MAR,Northern Land Border,WA,Single Adults,CANADA,Title 8,57",
        "2024,FYTD,MAR,Southwest Land Border,TX,FMUA,VENEZUELA,Title 42,0",
        "2024,FYTD,MAR,Other,FL,Single Adults,CUBA,Title 8,2110",
    ]
    f = write_csv(tmp_path / "nationwide-encounters-fy24-state.csv", STATE_HEADER, rows)
    r = store.load(f)
    assert r.release.dataset == "encounters-state"
    got = store.con.execute(
        "SELECT state, region, component, title, encounter_type, count FROM encounters ORDER BY line"
    ).fetchall()
    assert got == [
        ("WA", "Northern Land Border", None, "Title 8", None, 57),
        ("TX", "Southwest Land Border", None, "Title 42", "Expulsions", 0),
        ("FL", "Other", None, "Title 8", None, 2110),
    ]


# ---------------------------------------------------------------------------- fetch


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        key = self.path
        n = _Handler.hits[key] = _Handler.hits.get(key, 0) + 1
        if self.path.startswith("/flaky/"):
            if n <= 2:
                self._status(503, {"Retry-After": "0"})
                return
            self.path = self.path[len("/flaky") :]
        elif self.path.startswith("/busy/"):
            if n <= 1:
                self._status(429, {"Retry-After": "7"})
                return
            self.path = self.path[len("/busy") :]
        elif self.path.startswith("/down/"):
            self._status(500, {})
            return
        elif self.path.startswith("/forbidden/"):
            self._status(403, {})
            return
        elif self.path.startswith("/botcheck/"):
            body = b"<html><body>Please enable JavaScript</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        elif self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"FY,Month (abbv)\r\n")
            self.close_connection = True
            return
        super().do_GET()

    def _status(self, code: int, headers: dict[str, str]) -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[str]:
    root = shared_data / "cbp"

    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_downloads_with_provenance(server: str, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "cbp" / DRUGS_NEW
    got = fetch_file(f"{server}/{DRUGS_NEW}", dest_dir=tmp_path / "dl", sha256=_sha(src).upper())
    assert got.path == tmp_path / "dl" / DRUGS_NEW and got.path.read_bytes() == src.read_bytes()
    assert got.sha256 == _sha(src) and got.attempts == 1 and got.size_bytes == src.stat().st_size
    prov = read_provenance(got.path)
    assert prov is not None and prov["url"] == f"{server}/{DRUGS_NEW}" and prov["sha256"] == got.sha256
    assert prov["fetched_at"].endswith("Z")
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == [DRUGS_NEW, DRUGS_NEW + ".provenance.json"]
    # The store keeps the URL from the provenance file.
    with Store(tmp_path / "s.duckdb") as s:
        rel = s.load(got.path).release
        assert rel.source_url == f"{server}/{DRUGS_NEW}"


def test_fetch_retries_5xx_and_429(server: str, tmp_path: Path) -> None:
    waits: list[float] = []
    path = fetch(f"{server}/flaky/{SBO}", dest_dir=tmp_path, backoff=0.01, sleep=waits.append)
    assert path.name == SBO and _Handler.hits[f"/flaky/{SBO}"] == 3
    assert waits == [0.01, 0.02]  # Retry-After: 0 never shortens the backoff
    waits.clear()
    fetch(f"{server}/busy/{SBO}", dest_dir=tmp_path / "b", backoff=0.01, sleep=waits.append)
    assert waits == [7.0]  # Retry-After honoured
    waits.clear()
    with pytest.raises(FetchError, match=r"failed after 3 attempt\(s\): HTTP 500"):
        fetch(f"{server}/down/x.csv", dest_dir=tmp_path / "c", retries=2, backoff=0.0, sleep=waits.append)
    assert len(waits) == 2
    with pytest.raises(FetchError, match="cut short"):
        fetch(f"{server}/short/x.csv", dest_dir=tmp_path / "d", retries=1, backoff=0.0, sleep=lambda s: None)
    assert not any((tmp_path / "d").iterdir())


def test_fetch_connection_refused_is_retried(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits: list[float] = []
    with pytest.raises(FetchError, match=r"failed after 2 attempt\(s\): connection error"):
        fetch(f"http://127.0.0.1:{port}/x.csv", dest_dir=tmp_path, retries=1, backoff=0.5, sleep=waits.append)
    assert waits == [0.5]


def test_fetch_refusals_and_checksum(server: str, tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(FetchRefused) as info:
        fetch(f"{server}/forbidden/nationwide-drugs-fy23-fy26-dec.csv", dest_dir=tmp_path, sleep=lambda s: None)
    text = str(info.value)
    assert "HTTP 403" in text and "download it in a web browser" in text and "borderwatch stats load FILE" in text
    assert "nationwide-drug-seizures" in text  # the page to download from
    assert _Handler.hits["/forbidden/nationwide-drugs-fy23-fy26-dec.csv"] == 1  # not retried
    with pytest.raises(FetchRefused, match="web page instead of the data file"):
        fetch(f"{server}/botcheck/x.csv", dest_dir=tmp_path, sleep=lambda s: None)
    with pytest.raises(FetchError, match="not found"):
        fetch(f"{server}/no-such-file.csv", dest_dir=tmp_path, sleep=lambda s: None)
    # A checksum mismatch keeps nothing, and leaves an existing file alone.
    old = tmp_path / SBO
    old.write_text("previous download")
    with pytest.raises(ChecksumMismatch, match="checksum mismatch"):
        fetch(f"{server}/{SBO}", dest_dir=tmp_path, sha256="0" * 64)
    assert old.read_text() == "previous download"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SBO]


# ---------------------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    rc = main(["stats", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_load_releases_diff(capsys: pytest.CaptureFixture[str], tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "cli.duckdb"
    a = write_csv(tmp_path / "a.csv", DRUG_HEADER, DIFF_A)
    b = write_csv(tmp_path / "b.csv", DRUG_HEADER, DIFF_B)
    rc, out, err = run(capsys, "load", a, b, shared_data / "cbp" / OHSS, "--db", db)
    assert rc == 0, err
    assert "loaded 5 rows as release" in out and "loaded 984 rows" in out and "note: FY2025 has 2 month(s)" in out
    rc, out, _ = run(capsys, "load", a, "--db", db, "--json")
    data = json.loads(out)
    assert rc == 0 and data["results"][0]["loaded"] is False and "already loaded" in data["results"][0]["message"]
    rc, out, _ = run(capsys, "releases", "--db", db)
    assert rc == 0 and "drug-seizures" in out and "ohss-usbp" in out and "FY2024 (Jan 2024)" in out
    rc, out, _ = run(capsys, "releases", "--db", db, "--json", "--dataset", "drug-seizures")
    rels = json.loads(out)["releases"]
    assert [r["file_name"] for r in rels] == ["a.csv", "b.csv"] and [r["current"] for r in rels] == [False, True]
    ida, idb = rels[0]["release_id"], rels[1]["release_id"]
    rc, out, _ = run(capsys, "diff", ida[:6], idb, "--db", db)
    assert rc == 0
    assert "1 changed, 1 added, 1 removed" in out and "2023-12  Southwest Border" in out
    assert "removed  2023-12  USBP       Southwest Border  land only  TUCSON SECTOR  Fentanyl" in out
    rc, out, _ = run(capsys, "diff", ida, idb, "--db", db, "--json")
    d = json.loads(out)
    assert rc == 0 and (d["changed"], d["added"], d["removed"]) == (1, 1, 1) and len(d["rows"]) == 3


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["load", "{bad}"], "bad.csv, line 3, column 4 ('Region'): unknown region"),
        (["load", "{missing}"], "no such file"),
        (["load", "{sbo}", "--dataset", "drug-seizures"], "not the expected"),
        (["releases", "--db", "{tmp}/nothing.duckdb"], "no statistics store here yet"),
        (["diff", "abcd", "ef01"], "no release 'abcd'"),
        (["fetch", "not-a-dataset"], "neither a dataset"),
        (["fetch", "ohss-usbp"], "download the file in a browser"),
    ],
)
def test_cli_errors_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shared_data: Path, args: list[str], fragment: str
) -> None:
    db = tmp_path / "cli.duckdb"
    with Store(db) as s:
        s.load(write_csv(tmp_path / "good.csv", DRUG_HEADER, GOOD_DRUG_ROWS))
        before = snapshot(s)
    bad = write_csv(tmp_path / "bad.csv", DRUG_HEADER, [GOOD_DRUG_ROWS[0], drug_row(region="Canada")])
    subs = {"bad": bad, "missing": tmp_path / "missing.csv", "sbo": shared_data / "cbp" / SBO, "tmp": tmp_path}
    argv = [a.format(**subs) for a in args]
    if "--db" not in argv:
        argv += ["--db", str(db)]
    rc, _, err = run(capsys, *argv)
    assert rc == 2
    assert err.startswith("borderwatch: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err
    with Store(db, read_only=True) as s:
        assert snapshot(s) == before


def test_cli_fetch_and_load(capsys: pytest.CaptureFixture[str], server: str, tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    rc, out, err = run(capsys, "fetch", f"{server}/{SBO}", "--dest", tmp_path / "dl", "--load", "--db", db)
    assert rc == 0, err
    assert f"{tmp_path / 'dl' / SBO}: " in out and "sha256 " in out and "loaded 1,936 rows" in out
    with Store(db, read_only=True) as s:
        (rel,) = s.releases()
        assert rel.source_url == f"{server}/{SBO}"
    rc, out, err = run(capsys, "fetch", f"{server}/forbidden/{DRUGS_NEW}", "--dest", tmp_path / "dl2")
    assert rc == 2 and "HTTP 403" in err and "borderwatch stats load FILE" in err and err.count("\n") == 1
