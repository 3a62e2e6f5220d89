"""Queries, claims and charts of `borderwatch stats` on a small store built by hand,
and (when ../shared/data/cbp is there) on CBP's real files."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from PIL import Image

from borderwatch.cli import main
from borderwatch.errors import ConfigError
from borderwatch.stats import charts
from borderwatch.stats import claims as cl
from borderwatch.stats import query as q

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cbp"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "claims" / "northern-border-2025.yaml"

# --- a small store ---------------------------------------------------------------------
#
# drug-seizures, three releases:
#   rel-hist0003  FY2022 complete
#   rel-old00001  FY2023 complete + FY2024 Oct-Nov (FYTD)   (older release)
#   rel-new00002  FY2024 complete + FY2025 Oct-Dec (FYTD)   (newer: revised FY2024)
# Fentanyl per month: old/hist: North OFO land 1.0, North OFO other 0.25, North USBP 0.5,
# SW OFO 100, SW USBP 20, Coastal OFO 10 (Other) -> north 1.75, nationwide 131.75.
# new: North OFO land 0.25, North USBP 0.25 (north 0.5), rest the same -> nationwide 130.5.
# Cocaine: SW OFO land 1000 per month in every release.
#
# ohss-usbp: FY2023 monthly north 100 / SW 5000 / Other 50, annual 1210 / 60000 / 600
# (annual != sum of months, as with OHSS's rounding); FY2024 Oct-Nov monthly 300/4000/40 and
# an FYTD annual 600/8000/80. sbo-encounters: FY2023 monthly OFO Inadmissibles 1000, USBP
# Apprehensions 4000, USBP Expulsions 1000 (Southwest only).

OLD = {"N_OFO_LAND": 1.0, "N_OFO_OTHER": 0.25, "N_USBP": 0.5}
NEW = {"N_OFO_LAND": 0.25, "N_OFO_OTHER": 0.0, "N_USBP": 0.25}


def _fy_months(fy: int) -> list[date]:
    return q.fy_months(fy)


def _seizure_rows(rid: str, months: list[date], v: dict[str, float], fytd_fys: set[int]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    line = 2
    for m in months:
        fy = q.fiscal_year(m)
        ft = fy in fytd_fys
        spec = [
            ("OFO", "Northern Border", True, "BUFFALO FIELD OFFICE", "Fentanyl", v["N_OFO_LAND"]),
            ("OFO", "Northern Border", False, "SEATTLE FIELD OFFICE", "Fentanyl", v["N_OFO_OTHER"]),
            ("USBP", "Northern Border", True, "SWANTON SECTOR", "Fentanyl", v["N_USBP"]),
            ("OFO", "Southwest Border", True, "SAN DIEGO FIELD OFFICE", "Fentanyl", 100.0),
            ("USBP", "Southwest Border", True, "TUCSON SECTOR", "Fentanyl", 20.0),
            ("OFO", "Coastal/Interior", False, "MIAMI FIELD OFFICE", "Fentanyl", 10.0),
            ("OFO", "Southwest Border", True, "SAN DIEGO FIELD OFFICE", "Cocaine", 1000.0),
        ]
        for comp, region, land, aor, drug, lbs in spec:
            if lbs == 0:
                continue
            rows.append((rid, line, fy, ft, m, comp, region, land, aor, drug, 1, lbs))
            line += 1
    return rows


def _release(con: Any, rid: str, dataset: str, label: str, last: date, loaded: datetime, n: int) -> None:
    con.execute(
        "INSERT INTO releases VALUES (?, ?, ?, ?, 1000, ?, ?, NULL, ?, NULL, NULL, ?)",
        [rid, dataset, f"{rid}.csv", rid + "0" * (64 - len(rid)), n, loaded, label, last],
    )


def build_store(con: Any) -> None:
    from borderwatch.stats.store import SCHEMA

    con.execute(SCHEMA)
    sets = [
        ("rel-hist0003", "FY2022 (Sep 2022)", _fy_months(2022), OLD, set(), date(2022, 9, 1), datetime(2023, 1, 1)),
        (
            "rel-old00001",
            "FY2023-FY2024 (Nov 2023)",
            _fy_months(2023) + _fy_months(2024)[:2],
            OLD,
            {2024},
            date(2023, 11, 1),
            datetime(2024, 1, 1),
        ),
        (
            "rel-new00002",
            "FY2024-FY2025 (Dec 2024)",
            _fy_months(2024) + _fy_months(2025)[:3],
            NEW,
            {2025},
            date(2024, 12, 1),
            datetime(2025, 1, 1),
        ),
    ]
    for rid, label, months, vals, fytd, last, loaded in sets:
        rows = _seizure_rows(rid, months, vals, fytd)
        _release(con, rid, "drug-seizures", label, last, loaded, len(rows))
        con.executemany("INSERT INTO drug_seizures VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    # ohss-usbp
    enc: list[tuple[Any, ...]] = []

    def e(
        rid: str,
        fy: int,
        fytd: bool,
        month: date | None,
        comp: str | None,
        region: str,
        n: int,
        etype: str | None = None,
    ) -> None:
        enc.append((rid, len(enc) + 2, fy, fytd, month, comp, region, None, None, None, None, None, etype, n))

    for m in _fy_months(2023):
        for region, n in (("Northern Land Border", 100), ("Southwest Land Border", 5000), ("Other", 50)):
            e("ohss0000001", 2023, False, m, "USBP", region, n)
    for m in _fy_months(2024)[:2]:
        for region, n in (("Northern Land Border", 300), ("Southwest Land Border", 4000), ("Other", 40)):
            e("ohss0000001", 2024, True, m, "USBP", region, n)
    for region, n in (("Northern Land Border", 1210), ("Southwest Land Border", 60000), ("Other", 600)):
        e("ohss0000001", 2023, False, None, "USBP", region, n)
    for region, n in (("Northern Land Border", 600), ("Southwest Land Border", 8000), ("Other", 80)):
        e("ohss0000001", 2024, True, None, "USBP", region, n)
    _release(
        con, "ohss0000001", "ohss-usbp", "FY2023-FY2024 (Nov 2023)", date(2023, 11, 1), datetime(2024, 2, 1), len(enc)
    )
    n0 = len(enc)
    for m in _fy_months(2023):
        e("sbo00000001", 2023, False, m, "OFO", "Southwest Land Border", 1000, "Inadmissibles")
        e("sbo00000001", 2023, False, m, "USBP", "Southwest Land Border", 4000, "Apprehensions")
        e("sbo00000001", 2023, False, m, "USBP", "Southwest Land Border", 1000, "Expulsions")
    _release(
        con, "sbo00000001", "sbo-encounters", "FY2023 (Sep 2023)", date(2023, 9, 1), datetime(2024, 2, 1), len(enc) - n0
    )
    con.executemany("INSERT INTO encounters VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", enc)


@pytest.fixture
def con() -> Iterator[Any]:
    c = duckdb.connect()
    build_store(c)
    yield c
    c.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "stats.duckdb"
    c = duckdb.connect(str(path))
    build_store(c)
    c.close()
    return path


def _row(t: q.Table, **match: Any) -> dict[str, Any]:
    hits = [r for r in t.records() if all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, (match, t.records())
    return hits[0]


# --- months ----------------------------------------------------------------------------


def test_fiscal_calendar_mapping() -> None:
    assert q.fiscal_year(date(2023, 10, 1)) == 2024  # FY N Oct-Dec = calendar N-1
    assert q.fiscal_year(date(2023, 12, 1)) == 2024
    assert q.fiscal_year(date(2024, 9, 1)) == 2024
    ms = q.fy_months(2024)
    assert ms[0] == date(2023, 10, 1) and ms[-1] == date(2024, 9, 1) and len(ms) == 12
    assert q.parse_month("2025-1") == date(2025, 1, 1)
    assert q.parse_month("Jan 2025") == date(2025, 1, 1)
    assert q.parse_month(date(2025, 3, 17)) == date(2025, 3, 1)
    with pytest.raises(q.QueryError):
        q.parse_month("2025-13")
    assert q.fmt_span(q.fy_months(2024)) == "Oct 2023–Sep 2024"
    assert q.fmt_span([date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)]) == "Oct–Dec 2025"
    assert q.fmt_span([date(2025, 1, 1), date(2025, 3, 1)]) == "Jan 2025, Mar 2025"


# --- queries ---------------------------------------------------------------------------


def test_fiscal_year_by_region_uses_the_release_that_covers_it(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by=("region",), period="fiscal", year=2024)
    assert t.columns == ["region", "events", "lbs"]
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(0.5 * 12)
    assert _row(t, region="Southwest Border")["lbs"] == pytest.approx(120 * 12)
    assert _row(t, region="Coastal/Interior")["lbs"] == pytest.approx(120)
    d = t.definition
    assert d["release"]["release_id"] == "rel-new00002"  # newer release, covers all of FY2024
    assert d["period"]["label"].startswith("FY2024 (Oct 2023–Sep 2024)")
    assert d["period"]["months_covered"] == 12 and d["period"]["complete"] and t.complete
    assert d["filters"] == {"drug": ["Fentanyl"]}
    assert any("not drug origin" in n for n in t.notes)
    assert "FY2024" in t.describe() and "rel-new00002" in t.describe()
    # FY2023 only the older release has
    t23 = q.seizures(con, drug="Fentanyl", period="fiscal", year=2023)
    assert t23.definition["release"]["release_id"] == "rel-old00001"
    assert _row(t23, region="Northern Border")["lbs"] == pytest.approx(1.75 * 12)


def test_calendar_year_spans_two_fiscal_years_and_says_so(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="region", period="calendar", year=2023)
    # Jan-Sep 2023 = FY2023 (old release), Oct-Dec 2023 = FY2024 (new release)
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(1.75 * 9 + 0.5 * 3)
    rels = t.definition["releases"]
    assert [(r["release_id"], r["fiscal_years"]) for r in rels] == [("rel-old00001", [2023]), ("rel-new00002", [2024])]
    assert t.definition["release"] is None
    assert any("combines 2 releases" in n for n in t.notes)
    assert t.complete


def test_trailing_twelve_months(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="region", period="trailing12")
    p = t.definition["period"]
    assert (p["first_month"], p["last_month"]) == ("2024-01", "2024-12")  # to the latest month loaded
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(0.5 * 12)
    assert any("year to date" in n for n in t.notes)  # includes FY2025 (FYTD) months
    t = q.seizures(con, drug="Fentanyl", by="region", period="trailing12", end_month="2024-06")
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(1.75 * 3 + 0.5 * 9)
    with pytest.raises(q.QueryError, match="end month"):
        q.seizures(con, drug="Fentanyl", period="trailing12", year=2024)
    with pytest.raises(q.QueryError, match="trailing12"):
        q.seizures(con, drug="Fentanyl", period="fiscal", year=2024, end_month="2024-06")


def test_fytd_and_missing_months_are_marked(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="region", period="fiscal", year=2025)
    assert not t.complete
    p = t.definition["period"]
    assert p["months_covered"] == 3 and p["fytd"] == ["FY2025"] and p["covered"] == "Oct–Dec 2024"
    assert t.note is not None and "3 of 12 months" in t.note and "FYTD" in t.note
    # every fiscal year, grouped, with the months each covers
    t = q.seizures(con, drug="Fentanyl", by="region", period="fiscal")
    assert t.columns == ["fy", "region", "events", "lbs", "months"]
    months = {r["fy"]: r["months"] for r in t.records()}
    assert months == {2022: 12, 2023: 12, 2024: 12, 2025: 3}
    assert any(n.startswith("FY2025 is incomplete") for n in t.notes)
    # a year no release covers at all
    with pytest.raises(q.NotComputable):
        q.seizures(con, drug="Fentanyl", period="fiscal", year=2010)


def test_release_pinned(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="region", period="fiscal", year=2024, release="rel-old00001")
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(1.75 * 2)
    assert not t.complete and "2 of 12 months" in (t.note or "")
    t2 = q.seizures(con, drug="Fentanyl", period="fiscal", year=2024, release="rel-old")  # unique prefix
    assert t2.definition["release"]["release_id"] == "rel-old00001"
    with pytest.raises(q.QueryError, match="no drug-seizures release"):
        q.seizures(con, drug="Fentanyl", period="fiscal", year=2024, release="nope")
    with pytest.raises(q.QueryError, match="ohss-usbp release"):
        q.seizures(con, drug="Fentanyl", period="fiscal", year=2023, release="ohss0000001")


def test_component_land_and_region_filters(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="region", year=2023, component="USBP")
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(0.5 * 12)
    assert {r["region"] for r in t.records()} == {"Northern Border", "Southwest Border"}
    assert "USBP" in t.describe()
    t = q.seizures(con, drug="Fentanyl", by="region", year=2023, component="Office of Field Operations")
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(1.25 * 12)
    t = q.seizures(con, drug="Fentanyl", by="region", year=2023, land_only=True)
    assert _row(t, region="Northern Border")["lbs"] == pytest.approx(1.5 * 12)
    assert "Coastal/Interior" not in {r["region"] for r in t.records()}
    t = q.seizures(con, drug="Fentanyl", by="region", year=2023, region="land borders")
    assert {r["region"] for r in t.records()} == {"Northern Border", "Southwest Border"}
    t = q.seizures(con, drug="fentanyl", by=(), year=2023, region="northern")
    assert t.columns == ["events", "lbs"] and t.total("lbs") == pytest.approx(21.0)
    t = q.seizures(con, by="drug", year=2023, region="Southwest Border")
    assert _row(t, drug="Cocaine")["lbs"] == pytest.approx(12000)


def test_every_dimension(con: Any) -> None:
    t = q.seizures(con, drug="Fentanyl", by="month,region", year=2024)
    assert len(t.rows) == 36 and t.columns[:2] == ["month", "region"]
    assert _row(t, month="2023-10", region="Northern Border")["lbs"] == pytest.approx(0.5)
    t = q.seizures(con, drug="Fentanyl", by=["component", "land"], year=2023)
    assert _row(t, component="OFO", land="Other")["lbs"] == pytest.approx((0.25 + 10) * 12)
    t = q.seizures(con, drug="Fentanyl", by="aor", year=2023, region="northern")
    assert {r["aor"] for r in t.records()} == {"BUFFALO FIELD OFFICE", "SEATTLE FIELD OFFICE", "SWANTON SECTOR"}
    t = q.seizures(con, drug="Fentanyl", by="year,region", period="fiscal", year=2024)
    assert _row(t, year=2023, region="Northern Border")["months"] == 3
    assert _row(t, year=2024, region="Northern Border")["months"] == 9
    t = q.seizures(con, drug="Fentanyl", by="region", period="calendar")
    assert {r["year"] for r in t.records()} == {2021, 2022, 2023, 2024}
    assert _row(t, year=2021, region="Northern Border")["months"] == 3  # Oct-Dec 2021 only
    t = q.seizures(con, drug="Fentanyl", by="month", period="all", region="northern")
    assert len(t.rows) == 12 * 3 + 3
    with pytest.raises(q.QueryError, match="cannot group"):
        q.seizures(con, by="citizenship")
    with pytest.raises(q.QueryError, match="twice"):
        q.seizures(con, by="region,region")
    with pytest.raises(q.QueryError, match="unknown period"):
        q.seizures(con, period="quarterly")


def test_unknown_values_are_errors_that_list_the_known_ones(con: Any) -> None:
    with pytest.raises(q.QueryError, match=r"unknown drug 'Fentanly'.*Fentanyl"):
        q.seizures(con, drug="Fentanly")
    with pytest.raises(q.QueryError, match="unknown region 'Atlantis'"):
        q.seizures(con, drug="Fentanyl", region="Atlantis")
    with pytest.raises(q.QueryError, match="no OFO rows"):
        q.encounters(con, dataset="ohss-usbp", component="OFO", year=2023)
    with pytest.raises(q.QueryError, match="several encounters datasets"):
        q.encounters(con, year=2023)
    with pytest.raises(q.QueryError, match="unknown dataset"):
        q.total(con, {"dataset": "nope"}, year=2023)


def test_other_drugs_matches_without_the_asterisks(con: Any) -> None:
    con.execute(
        "INSERT INTO drug_seizures VALUES ('rel-new00002', 999, 2024, false, DATE '2024-01-01', 'OFO', "
        "'Southwest Border', true, 'SAN DIEGO FIELD OFFICE', 'Other Drugs**', 1, 2.5)"
    )
    t = q.seizures(con, drug="Other Drugs", by=(), year=2024)
    assert t.total("lbs") == pytest.approx(2.5) and t.definition["filters"]["drug"] == ["Other Drugs**"]


def test_encounters_annual_figures_and_months(con: Any) -> None:
    t = q.encounters(con, dataset="ohss-usbp", by="region", period="fiscal", year=2023)
    assert _row(t, region="Northern Land Border")["encounters"] == 1210  # the published annual figure
    assert any("annual figures" in n for n in t.notes)
    t = q.encounters(con, dataset="ohss-usbp", by="month", period="fiscal", year=2023, region="northern")
    assert sum(t.column("encounters")) == 1200 and len(t.rows) == 12  # monthly rows, never added to annual
    t = q.encounters(con, dataset="ohss-usbp", by="region", period="calendar", year=2023)
    assert _row(t, region="Northern Land Border")["encounters"] == 100 * 9 + 300 * 2
    assert not t.complete and "11 of 12 months" in (t.note or "")
    t = q.encounters(con, dataset="ohss-usbp", by="region", period="fiscal", year=2024)
    assert _row(t, region="Northern Land Border")["encounters"] == 600 and not t.complete
    assert "USBP (the only component in ohss-usbp)" in t.describe()
    t = q.encounters(con, dataset="sbo-encounters", by="component,encounter_type", year=2023)
    assert _row(t, component="USBP", encounter_type="Apprehensions")["encounters"] == 48000
    t = q.encounters(
        con, dataset="sbo-encounters", by="region", year=2023, encounter_type=["apprehensions", "Expulsions"]
    )
    assert t.total() == 60000
    assert "Southwest Land Border (the only region in sbo-encounters)" in t.describe()


def test_shares_and_ratios(con: Any) -> None:
    fent = {"dataset": "drug-seizures", "drug": "Fentanyl"}
    north = {**fent, "region": "Northern Border"}
    r = q.share(con, north, fent, period="fiscal", year=2023)
    assert r.numerator.value == pytest.approx(21) and r.denominator.value == pytest.approx(131.75 * 12)
    assert r.value == pytest.approx(21 / 1581) and r.complete and r.why is None
    r = q.share(con, north, {**fent, "region": "land borders"}, year=2023)
    assert r.value == pytest.approx(21 / (21 + 1440))
    r = q.share(con, {**north, "component": "USBP"}, {**fent, "component": "USBP"}, year=2023)
    assert r.value == pytest.approx(6 / 246)
    r = q.share(con, north, fent, period="trailing12")
    assert r.value == pytest.approx(6 / (130.5 * 12))
    assert r.numerator.definition["period"]["last_month"] == "2024-12"
    with pytest.raises(q.QueryError, match="part of the denominator"):
        q.share(con, fent, north, year=2023)
    with pytest.raises(q.QueryError, match="same dataset"):
        q.share(con, {"dataset": "ohss-usbp", "region": "northern"}, {"dataset": "sbo-encounters"}, year=2023)
    # a ratio across two datasets: only where both cover the same months
    num = {"dataset": "ohss-usbp", "region": "northern"}
    den = {"dataset": "sbo-encounters", "component": "USBP"}
    r = q.ratio(con, num, den, year=2023)
    assert r.value == pytest.approx(1210 / 60000)
    r = q.ratio(con, num, den, period="calendar", year=2023)
    assert r.value is None and r.why is not None and "different months" in r.why
    # nothing loaded for a dataset / a year: a Measure that says why
    m = q.total(con, {"dataset": "encounters-aor"}, year=2023)
    assert m.value is None and m.why is not None and "no encounters-aor release" in m.why
    m = q.total(con, fent, year=2015)
    assert m.value is None and m.why is not None and "FY2015" in m.why


# --- claims ----------------------------------------------------------------------------

CLAIMS_YAML = """\
title: test claims
claims:
  - id: fent-share
    text: "Less than 1% of the fentanyl comes from Canada."
    source: {who: A minister, when: February 2025}
    comparison:
      metric: share
      numerator: {dataset: drug-seizures, drug: Fentanyl, region: Northern Border}
      denominator: {dataset: drug-seizures, drug: Fentanyl}
      op: "<"
      value: 1%
  - id: north-total
    text: "About 6 lb were seized at the northern border in a year."
    source: {who: A reporter, when: "2025-02-03", statement: a news report}
    comparison:
      metric: total
      of: {dataset: drug-seizures, drug: Fentanyl, region: northern}
      op: "~="
      value: 6
      tolerance: 0.1
      unit: lb
    vary: {periods: [fiscal], components: false, land: false}
  - id: crossings
    text: "Northern encounters are under 5% of southwest ones."
    source: {who: Someone, when: "2025"}
    comparison:
      metric: ratio
      numerator: {dataset: ohss-usbp, region: Northern Land Border}
      denominator: {dataset: sbo-encounters, component: USBP}
      op: "<"
      value: 0.05
"""


def _claims(text: str = CLAIMS_YAML) -> cl.ClaimFile:
    return cl.parse_claims(text, "claims.yaml")


def test_claim_under_every_definition(con: Any) -> None:
    claim = _claims().claims[0]
    assert claim.origin  # "comes from Canada"
    defs = cl.definitions(con, claim)
    # FY2022-FY2025, CY2021-CY2024, trailing 12 months; both/OFO/USBP; nationwide/land borders; all/land only
    assert len(defs) == 9 * 3 * 2 * 2
    res = cl.evaluate_claim(con, claim)
    vs = res.verdicts
    # Definitions that give the same numbers are shown once: land-only (no Coastal/Interior seizure
    # is 'Land Only') and, in this store, USBP (no Coastal/Interior USBP seizure): nationwide = land borders.
    assert len(vs) == 9 * (3 + 3 + 2)
    fy23 = [
        v
        for v in vs
        if v.period_short == "FY2023" and v.agency == "OFO+USBP" and v.scope == "nationwide" and v.land == "all"
    ]
    assert len(fy23) == 1
    v = fy23[0]
    assert v.status == cl.FAILS and v.value == pytest.approx(21 / 1581)
    assert (v.numerator, v.denominator) == (pytest.approx(21), pytest.approx(1581))
    assert v.complete and v.definition["numerator"]["releases"][0]["release_id"] == "rel-old00001"
    assert v.definition["period"].startswith("FY2023") and v.definition["agency"] == "OFO+USBP"
    fy24 = next(v for v in vs if v.period_short == "FY2024" and v.agency == "OFO+USBP" and v.scope == "nationwide")
    assert fy24.status == cl.HOLDS and fy24.value == pytest.approx(6 / 1566)
    land = next(v for v in vs if v.period_short == "FY2023" and v.land == "land only" and v.agency == "OFO+USBP")
    assert land.scope == "nationwide = the two land borders"
    assert land.value == pytest.approx(18 / (18 + 1440))
    usbp = next(v for v in vs if v.period_short == "FY2024" and v.agency == "USBP" and v.land == "all")
    assert usbp.scope == "nationwide = the two land borders"
    assert usbp.status == cl.FAILS and usbp.value == pytest.approx(3 / 243)
    fy25 = [v for v in vs if v.period_short == "FY2025"]
    assert fy25 and all(not v.complete for v in fy25) and "partial period" in fy25[0].label
    t12 = [v for v in vs if v.definition["period"].startswith("12 months to Dec 2024")]
    assert len(t12) == 8 and t12[0].period_short == "12 mo. to Dec 2024"
    # the notes and the one-line summary
    assert any("not drug origin" in n for n in res.notes)
    assert res.overall == "depends on the definition"
    s = res.summary
    assert s.startswith(f"holds under {sum(v.status == cl.HOLDS for v in vs)} of {len(vs)} definitions")
    assert "fails under" in s and "partial periods" in s
    d = res.to_dict()
    assert d["about_origin"] and d["verdicts"][0]["definition"]["numerator"]["dataset"] == "drug-seizures"
    json.dumps(d)  # serialisable


def test_claim_total_with_tolerance_and_restricted_definitions(con: Any) -> None:
    claim = _claims().claims[1]
    assert not claim.origin
    vs = cl.evaluate(con, claim)
    assert [v.period_short for v in vs] == ["FY2022", "FY2023", "FY2024", "FY2025"]
    got = {v.period_short: v for v in vs}
    assert got["FY2024"].status == cl.HOLDS and got["FY2024"].deviation == pytest.approx(0)
    assert got["FY2023"].status == cl.FAILS and got["FY2023"].deviation == pytest.approx(21 / 6 - 1)
    assert not got["FY2025"].complete


def test_claim_not_computable_says_why(con: Any) -> None:
    claim = _claims().claims[2]
    assert not claim.origin
    vs = cl.evaluate(con, claim)
    by = {v.period_short: v for v in vs}
    assert by["FY2023"].status == cl.HOLDS and by["FY2023"].value == pytest.approx(1210 / 60000)
    assert by["CY2023"].status == cl.NOT_COMPUTABLE and "different months" in (by["CY2023"].why or "")
    assert by["FY2024"].status == cl.NOT_COMPUTABLE and "denominator: no sbo-encounters data" in (
        by["FY2024"].why or ""
    )
    assert "not computable under" in cl.summarize(vs)
    # a dataset that is not loaded at all
    text = CLAIMS_YAML.replace("dataset: ohss-usbp", "dataset: encounters-aor")
    res = cl.evaluate_claim(con, _claims(text).claims[2])
    assert res.verdicts == [] and res.overall == "not computable" and any("encounters-aor" in n for n in res.notes)


def test_claim_that_names_an_unknown_drug_is_an_error_not_a_verdict(con: Any) -> None:
    text = CLAIMS_YAML.replace("drug: Fentanyl, region: Northern Border", "drug: Fentanly, region: Northern Border")
    with pytest.raises(cl.ClaimFileError, match="fent-share.*unknown drug"):
        cl.evaluate_claim(con, _claims(text).claims[0])


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            '      op: "<"\n      value: 1%',
            '      op: "<"\n      value: 1%\n      colour: red',
            12,
            "colour: unknown key",
        ),
        ('      op: "<"', '      op: "<<"', 10, "comparison.op"),
        ("      tolerance: 0.1\n", "", 15, "needs a tolerance"),
        ("    source: {who: A minister, when: February 2025}\n", "", 3, "source: required key is missing"),
        ("value: 1%", "value: 150%", 6, "a share is between 0 and 1"),
        (
            "{dataset: ohss-usbp, region: Northern Land Border}",
            "{dataset: ohss-usbp, drug: Fentanyl}",
            28,
            "drug cannot be used with dataset ohss-usbp",
        ),
        ("  - id: north-total", "  - id: fent-share", 2, "used twice"),
        ("      metric: total", "      metric: total\n      metric: share", 17, "appears twice"),
        ('    text: "About 6 lb', '    text: ["About 6 lb', 14, "cannot parse YAML"),
        ("component: USBP}", "component: CBP}", 29, "unknown component"),
    ],
)
def test_claim_file_errors_name_file_and_line(old: str, new: str, line: int, message: str) -> None:
    assert old in CLAIMS_YAML
    with pytest.raises(cl.ClaimFileError) as exc:
        cl.parse_claims(CLAIMS_YAML.replace(old, new, 1), "claims.yaml")
    text = str(exc.value)
    assert text.startswith(f"claims.yaml:{line}"), text
    assert message in text


def test_claim_file_edge_cases(tmp_path: Path) -> None:
    with pytest.raises(cl.ClaimFileError, match="not found"):
        cl.load_claims(tmp_path / "missing.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(cl.ClaimFileError, match="empty"):
        cl.load_claims(tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(cl.ClaimFileError, match="list.yaml:1: expected a mapping"):
        cl.load_claims(tmp_path / "list.yaml")
    c = _claims(CLAIMS_YAML.replace("value: 1%", "value: 0.01")).claims[0]
    assert c.comparison.value == 0.01
    assert _claims().claims[0].comparison.value == pytest.approx(0.01)
    c2 = _claims(CLAIMS_YAML.replace("value: 6\n", 'value: "20,600"\n')).claims[1]
    assert c2.comparison.value == 20600


def test_example_claim_file_is_valid() -> None:
    cf = cl.load_claims(EXAMPLE)
    ids = [c.id for c in cf.claims]
    assert ids == [
        "fentanyl-share-northern",
        "crossings-share-northern",
        "crossings-northern-vs-southwest",
        "fentanyl-northern-about-50lb",
        "fentanyl-southwest-about-20600lb",
    ]
    assert all(c.source.url is None for c in cf.claims)  # no URL we could not vouch for
    assert cf.claims[0].origin and cf.claims[1].origin


def test_render_prints_a_table_per_claim(con: Any) -> None:
    from rich.console import Console

    cf = _claims()
    results = [cl.evaluate_claim(con, c) for c in cf.claims]
    console = Console(record=True, width=200)
    cl.render(results, console)
    out = console.export_text()
    assert "fent-share" in out and "verdict:" in out and "holds under" in out
    assert "not drug origin" in out and "partial period" in out
    assert "0.38%" in out  # FY2024 share 6/1566
    console = Console(record=True, width=200)
    cl.render(results, console, summary_only=True)
    assert "period" not in console.export_text().split("verdict:")[1].splitlines()[1:2]


# --- charts ----------------------------------------------------------------------------


def test_charts_png_and_svg(con: Any, tmp_path: Path) -> None:
    p = charts.seizures_chart(con, tmp_path / "s.png", drug="Fentanyl")
    with Image.open(p) as im:
        assert im.size[0] == charts.WIDTH_PX and im.size[1] > 600
    p = charts.seizures_chart(con, tmp_path / "s.svg", drug="Fentanyl", stacked=True)
    text = p.read_text()
    assert "<svg" in text and len(text) > 10_000
    p = charts.share_chart(con, tmp_path / "share.png", drug="Fentanyl", threshold=0.01)
    with Image.open(p) as im:
        assert im.size[0] == charts.WIDTH_PX and im.size[1] > 400
    p = charts.share_chart(con, tmp_path / "share-enc.svg", dataset="ohss-usbp", drug=None)
    assert p.stat().st_size > 5_000
    p = charts.encounters_chart(con, tmp_path / "e.png", dataset="ohss-usbp")
    with Image.open(p) as im:
        assert im.size[0] == charts.WIDTH_PX
    p = charts.chart(con, "encounters", tmp_path / "sub" / "e.svg", dataset="sbo-encounters")
    assert p.exists() and p.stat().st_size > 5_000
    with pytest.raises(ConfigError, match="png or .svg"):
        charts.seizures_chart(con, tmp_path / "x.gif", drug="Fentanyl")
    assert not list(tmp_path.glob(".*.tmp"))


# --- CLI -------------------------------------------------------------------------------


def test_cli_queries_and_return_codes(db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(db_file)]
    rc = main(
        [
            "stats",
            "seizures",
            "--drug",
            "Fentanyl",
            "--by",
            "region",
            "--period",
            "fiscal",
            "--year",
            "2024",
            *db,
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["totals"]["lbs"] == pytest.approx(130.5 * 12)
    assert out["definition"]["release"]["release_id"] == "rel-new00002"
    rc = main(
        [
            "stats",
            "seizures",
            "--drug",
            "Fentanyl",
            "--period",
            "calendar",
            "--year",
            "2023",
            "--component",
            "USBP",
            "--land-only",
            "--region",
            "northern",
            *db,
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "CY2023" in text and "rel-old00001" in text and "combines 2 releases" in text
    rc = main(["stats", "seizures", "--drug", "Fentanyl", "--period", "trailing12", *db])
    assert rc == 0 and "12 months to Dec 2024" in capsys.readouterr().out
    rc = main(["stats", "encounters", "--dataset", "ohss-usbp", "--by", "region", "--year", "2023", *db, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["totals"]["encounters"] == 1210 + 60000 + 600
    rc = main(["stats", "seizures", "--drug", "Fentanly", *db])
    assert rc == 2 and "unknown drug" in capsys.readouterr().err
    rc = main(["stats", "encounters", "--year", "2023", *db])
    assert rc == 2 and "several encounters datasets" in capsys.readouterr().err
    rc = main(["stats", "seizures", "--db", str(tmp_path / "none.duckdb")])
    assert rc == 2 and "borderwatch: error:" in capsys.readouterr().err


def test_cli_check_and_chart(db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIMS_YAML)
    db = ["--db", str(db_file)]
    rc = main(["stats", "check", str(claims), *db])
    text = capsys.readouterr().out
    assert rc == 0 and "fent-share" in text and "holds under" in text and "not drug origin" in text
    rc = main(["stats", "check", str(claims), *db, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and [c["id"] for c in out["claims"]] == ["fent-share", "north-total", "crossings"]
    assert out["claims"][0]["verdicts"][0]["definition"]["numerator"]["releases"]
    rc = main(["stats", "check", str(claims), *db, "--only", "fails", "--summary"])
    assert rc == 0
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLAIMS_YAML.replace('op: "<"', 'op: "<<"', 1))
    rc = main(["stats", "check", str(bad), *db])
    assert rc == 2 and f"{bad}:10" in capsys.readouterr().err
    rc = main(["stats", "check", str(claims), *db, "--only", "maybe"])
    assert rc == 2
    capsys.readouterr()
    out_png = tmp_path / "c.png"
    rc = main(["stats", "chart", "seizures", "--drug", "Fentanyl", "--out", str(out_png), *db])
    assert rc == 0 and out_png.stat().st_size > 10_000 and str(out_png) in capsys.readouterr().out
    out_svg = tmp_path / "share.svg"
    rc = main(["stats", "chart", "share", "--out", str(out_svg), *db])
    assert rc == 0 and out_svg.read_text().lstrip().startswith("<?xml")
    rc = main(
        [
            "stats",
            "chart",
            "encounters",
            "--dataset",
            "ohss-usbp",
            "--format",
            "svg",
            "--out",
            str(tmp_path / "e.svg"),
            *db,
        ]
    )
    assert rc == 0
    rc = main(["stats", "chart", "pie", *db])
    assert rc == 2
    capsys.readouterr()


# --- the real CBP files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not REAL.is_dir():
        pytest.skip("../shared/data/cbp is not there")
    try:
        from borderwatch.stats.store import Store
    except ImportError:  # pragma: no cover - the loader is another part of the project
        pytest.skip("borderwatch.stats.store is not available")
    store = Store(tmp_path_factory.mktemp("real") / "stats.duckdb")
    store.load_many(sorted(p for p in REAL.iterdir() if p.suffix in (".csv", ".xlsx")))
    yield store
    store.close()


def test_real_fy2024_fentanyl_totals_reproduce_cbp(real_store: Any) -> None:
    t = q.seizures(real_store.con, drug="Fentanyl", by="region", period="fiscal", year=2024)
    assert round(_row(t, region="Northern Border")["lbs"], 1) == 43.0
    assert round(_row(t, region="Southwest Border")["lbs"], 1) == 21148.2
    assert t.complete and t.definition["release"]["file_name"] == "nationwide-drugs-fy23-fy26-dec.csv"
    by_comp = q.seizures(real_store.con, drug="Fentanyl", by="region,component", year=2024, region="land borders")
    assert math.isclose(
        sum(r["lbs"] for r in by_comp.records() if r["region"] == "Northern Border"), 43.0393, abs_tol=1e-3
    )
    cy = q.seizures(real_store.con, drug="Fentanyl", by="region", period="calendar", year=2024)
    assert round(_row(cy, region="Northern Border")["lbs"], 1) == 50.0
    assert round(_row(cy, region="Southwest Border")["lbs"], 1) == 20578.8
    fy26 = q.seizures(real_store.con, drug="Fentanyl", by="region", year=2026)
    assert not fy26.complete and fy26.definition["period"]["months_covered"] == 3


def test_real_early_2025_claims(real_store: Any) -> None:
    results = {r.claim.id: r for r in (cl.evaluate_claim(real_store.con, c) for c in cl.load_claims(EXAMPLE).claims)}
    assert all(r.verdicts for r in results.values())
    share = results["fentanyl-share-northern"]
    v = next(
        v
        for v in share.verdicts
        if v.period_short == "FY2024" and v.agency == "OFO+USBP" and v.scope == "nationwide" and v.land == "all"
    )
    assert v.status == cl.HOLDS and v.value == pytest.approx(43.0393 / 21889.2, rel=1e-4)
    assert any("not drug origin" in n for n in share.notes)
    fifty = results["fentanyl-northern-about-50lb"]
    assert [v.period_short for v in fifty.verdicts if v.status == cl.HOLDS] == ["CY2024"]
    fy24 = next(v for v in fifty.verdicts if v.period_short == "FY2024" and v.agency == "OFO+USBP" and v.land == "all")
    assert fy24.status == cl.FAILS and round(fy24.value or 0, 1) == 43.0
    sw = results["fentanyl-southwest-about-20600lb"]
    assert {v.period_short for v in sw.verdicts if v.status == cl.HOLDS} == {"CY2024"}
    crossings = results["crossings-share-northern"]
    fy24c = next(v for v in crossings.verdicts if v.period_short == "FY2024" and v.scope == "nationwide")
    assert fy24c.status == cl.FAILS and (fy24c.numerator, fy24c.denominator) == (23720, 1557320)
