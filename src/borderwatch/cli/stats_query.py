"""`borderwatch stats seizures|encounters|check|chart`: ask the store, check claims, draw.

Registered on the ``stats`` sub-app of :mod:`borderwatch.cli.stats` (which imports this
module at its end). Every result names the dataset, the release(s) with their SHA-256, the
period and the months it covers; an incomplete period says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ConfigError
from .stats import DbOption, JsonOption, emit_json, open_store, stats_app

PeriodOption = Annotated[
    str,
    typer.Option(
        "--period",
        metavar="fiscal|calendar|trailing12|all",
        help="Fiscal year (Oct–Sep), calendar year, the 12 months to --end-month (default: the latest month "
        "loaded), or every month.",
    ),
]
YearOption = Annotated[
    int | None,
    typer.Option(
        "--year",
        help="The fiscal or calendar year; without it, every year covered, one row group each.",
        show_default=False,
    ),
]
EndMonthOption = Annotated[
    str | None,
    typer.Option("--end-month", metavar="YYYY-MM", help="Last month of a trailing12 period.", show_default=False),
]
ComponentOption = Annotated[
    str | None,
    typer.Option("--component", metavar="OFO|USBP", help="One agency (default: both).", show_default=False),
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--region",
        metavar="NAME",
        help="Only this region (repeatable): e.g. 'Northern Border', northern, southwest, 'land borders'.",
        show_default=False,
    ),
]
ReleaseOption = Annotated[
    str | None,
    typer.Option(
        "--release",
        metavar="ID",
        help="Use this release only (default: the latest covering each year).",
        show_default=False,
    ),
]


def _answer(db: Path | None, as_json: bool, query: Callable[..., Any], **options: Any) -> None:
    """Run ``query`` on the store and show its table (or its JSON, naming the store)."""
    with open_store(db, read_only=True) as store:
        t = query(store.con, **options)
    if as_json:
        emit_json({**t.to_dict(), "store": str(store.path)})
    else:
        _print_table(t)


def _by(text: str) -> list[str]:
    return [b.strip() for b in text.replace(" ", ",").split(",") if b.strip()]


def _cell(col: str, v: Any) -> str:
    if v is None:
        return "—"
    if col == "lbs":
        return f"{v:,.1f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and col not in ("fy", "year"):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


_HEAD = {"lbs": "lb", "events": "seizures (events)", "fy": "FY", "year": "year", "months": "months covered"}


def _print_table(t: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console(highlight=False)
    d = t.definition
    con.print(Text(d["what"], style="bold"))
    con.print(
        Text(
            f"period: {d['period']['label']}"
            + (f" — covered: {d['period']['covered']}" if d["period"].get("covered") else "")
        )
    )
    for r in d["releases"]:
        fys = f" (used for FY{', FY'.join(map(str, r['fiscal_years']))})" if len(d["releases"]) > 1 else ""
        con.print(
            Text(
                f"release: {r['release_id']} '{r['label']}' — {r['file_name']}, SHA-256 {r['sha256'][:12]}{fys}",
                style="dim",
            )
        )
    tab = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2))
    for c in t.columns:
        tab.add_column(_HEAD.get(c, c), justify="right" if c in (*t.values, "months") else "left")
    for row in t.rows:
        tab.add_row(*(_cell(c, v) for c, v in zip(t.columns, row)))
    if len(t.rows) > 1:
        dims = [c for c in t.columns if c not in t.values and c != "months"]
        tot = t.totals()
        tab.add_row(
            *(
                ["total"]
                + [""] * (len(dims) - 1)
                + [_cell(v, tot[v] if v == "lbs" else int(tot[v])) for v in t.values]
                + ([""] if "months" in t.columns else [])
            ),
            style="bold",
        )
    con.print(tab)
    if not t.rows:
        con.print(Text("no rows: nothing matches in the months covered", style="yellow"))
    for n in t.notes:
        con.print(Text(f"note: {n}", style="yellow"))


_SEIZURES_EPILOG = """
Examples:

  borderwatch stats seizures --drug Fentanyl --by region --period fiscal --year 2024

  borderwatch stats seizures --drug Fentanyl --by region --period calendar --year 2024

  borderwatch stats seizures --drug Fentanyl --by region,component --period trailing12

  borderwatch stats seizures --drug Fentanyl --by fy,region --component USBP --land-only --json

Group by: region, component, land, aor, drug, month, fy, year. Fiscal year N runs from October N-1 to September N. Each fiscal year is taken from one release: the one covering most of it (ties: the latest data); a result from several releases lists each. An incomplete period (FYTD, months missing) is marked.
"""


@stats_app.command("seizures", epilog=_SEIZURES_EPILOG)
def seizures_command(
    drug: Annotated[
        str | None, typer.Option("--drug", help="Drug type as CBP publishes it (e.g. Fentanyl).", show_default=False)
    ] = None,
    by: Annotated[str, typer.Option("--by", metavar="DIM[,DIM]", help="Group by these dimensions.")] = "region",
    period: PeriodOption = "fiscal",
    year: YearOption = None,
    end_month: EndMonthOption = None,
    component: ComponentOption = None,
    land_only: Annotated[bool, typer.Option("--land-only", help="Only CBP's 'Land Only' seizures.")] = False,
    region: RegionOption = None,
    release: ReleaseOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drug seizures (lb and events) by region, component, month, year ..."""
    from ..stats.query import seizures

    _answer(
        db,
        as_json,
        seizures,
        drug=drug,
        by=_by(by),
        period=period,
        year=year,
        end_month=end_month,
        component=component,
        land_only=land_only,
        region=region or None,
        release=release,
    )


_ENCOUNTERS_EPILOG = """
Examples:

  borderwatch stats encounters --dataset ohss-usbp --by region --period fiscal --year 2024

  borderwatch stats encounters --dataset sbo-encounters --by component,encounter_type --period calendar --year 2024

Datasets: encounters-aor, encounters-state, sbo-encounters (Southwest only), ohss-usbp (Border Patrol, by region; annual figures for whole fiscal years). Group by: region, component, encounter_type, aor, state, demographic, citizenship, title, month, fy, year.
"""


@stats_app.command("encounters", epilog=_ENCOUNTERS_EPILOG)
def encounters_command(
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="Which encounters dataset (needed when several are loaded).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[str, typer.Option("--by", metavar="DIM[,DIM]", help="Group by these dimensions.")] = "region",
    period: PeriodOption = "fiscal",
    year: YearOption = None,
    end_month: EndMonthOption = None,
    component: ComponentOption = None,
    region: RegionOption = None,
    encounter_type: Annotated[
        list[str] | None,
        typer.Option(
            "--encounter-type",
            metavar="TYPE",
            help="Apprehensions, Expulsions, Inadmissibles (repeatable).",
            show_default=False,
        ),
    ] = None,
    citizenship: Annotated[str | None, typer.Option("--citizenship", show_default=False)] = None,
    release: ReleaseOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Encounters by region, component, encounter type, month, year ..."""
    from ..stats.query import encounters

    _answer(
        db,
        as_json,
        encounters,
        dataset=dataset,
        by=_by(by),
        period=period,
        year=year,
        end_month=end_month,
        component=component,
        region=region or None,
        encounter_type=encounter_type or None,
        citizenship=citizenship,
        release=release,
    )


_CHECK_EPILOG = """
Example:

  borderwatch stats check examples/claims/northern-border-2025.yaml

  borderwatch stats check claims.yaml --summary

  borderwatch stats check claims.yaml --json > verdicts.json

Each claim is evaluated under every definition the loaded data allow: each fiscal and calendar year (partial years marked *), the latest 12 months, OFO / USBP / both, share of nationwide or of the two land borders, all seizures or 'Land Only'. The file format is described in docs/stats.md ("Claims").

Exit status: 0 evaluated (whatever the verdicts), 2 bad claim file or store.
"""


@stats_app.command("check", epilog=_CHECK_EPILOG, no_args_is_help=True)
def check_command(
    claims_file: Annotated[Path, typer.Argument(metavar="CLAIMS.yaml", help="A claim file.", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="holds|fails|not-computable",
            help="Show only these verdicts in the tables.",
            show_default=False,
        ),
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="One verdict line per claim, no tables.")] = False,
) -> None:
    """Check the claims of a file against the store: a verdict per definition."""
    from ..stats.claims import evaluate_claim, load_claims, render

    status = None
    if only is not None:
        status = only.replace("-", " ").strip().lower()
        if status not in ("holds", "fails", "not computable"):
            raise ConfigError(f"--only {only!r}: expected holds, fails or not-computable")
    cf = load_claims(claims_file)  # validate the file before opening the store
    with open_store(db, read_only=True) as store:
        results = [evaluate_claim(store.con, c) for c in cf.claims]
    if as_json:
        emit_json(
            {
                "file": str(claims_file),
                "title": cf.title,
                "store": str(store.path),
                "claims": [r.to_dict() for r in results],
            }
        )
        return
    from rich.console import Console

    con = Console(highlight=False)
    if cf.title:
        con.print(f"[bold underline]{cf.title}[/]")
        con.print()
    render(results, con, only=status, summary_only=summary)


_CHART_EPILOG = """
Examples:

  borderwatch stats chart seizures --drug Fentanyl --out fentanyl.png

  borderwatch stats chart share --drug Fentanyl --threshold 1 --out share.svg

  borderwatch stats chart share --dataset ohss-usbp --out crossings-share.png

  borderwatch stats chart encounters --dataset ohss-usbp --out encounters.png

Kinds: seizures (monthly seizures of a drug by region, all regions then each on its own scale), share (the northern border's share over the 12 months to each month and per fiscal year, against a threshold), encounters (monthly encounters by region and component). The caption names the sources (dataset, release, SHA-256) and the definition.
"""


@stats_app.command("chart", epilog=_CHART_EPILOG, no_args_is_help=True)
def chart_command(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="seizures | share | encounters", show_default=False)],
    drug: Annotated[
        str | None, typer.Option("--drug", help="Drug (seizures, share of drug seizures).", show_default="Fentanyl")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="PATH", help="Where to write (default KIND.FORMAT).", show_default=False),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="png|svg", help="Default: from --out, else png.", show_default=False),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="share: drug-seizures (default) or an encounters dataset; encounters: which dataset.",
            show_default=False,
        ),
    ] = None,
    period: Annotated[str, typer.Option("--period", metavar="all|fiscal|calendar|trailing12")] = "all",
    year: YearOption = None,
    component: ComponentOption = None,
    land_only: Annotated[bool, typer.Option("--land-only", help="Only 'Land Only' seizures.")] = False,
    region: Annotated[str, typer.Option("--region", help="share: the numerator region.")] = "Northern",
    threshold: Annotated[
        float, typer.Option("--threshold", metavar="PERCENT", help="share: threshold line, in %.")
    ] = 1.0,
    stacked: Annotated[bool, typer.Option("--stacked", help="seizures: stacked areas instead of lines.")] = False,
    release: ReleaseOption = None,
    db: DbOption = None,
) -> None:
    """Draw a chart (PNG or SVG) with its sources and definition in the caption."""
    from ..stats import charts

    if kind not in charts.KINDS:
        raise ConfigError(f"unknown chart {kind!r} (choose from: {', '.join(charts.KINDS)})")
    if fmt is not None and fmt.lower() not in charts.FORMATS:
        raise ConfigError(f"--format {fmt!r}: expected png or svg")
    f = (fmt or (out.suffix.lstrip(".") if out is not None and out.suffix else "png")).lower()
    path = out if out is not None else Path(f"{kind}.{f}")
    with open_store(db, read_only=True) as store:
        con = store.con
        if kind == "seizures":
            if dataset not in (None, "drug-seizures"):
                raise ConfigError("chart seizures draws drug seizures; --dataset does not apply")
            written = charts.seizures_chart(
                con,
                path,
                drug=drug or "Fentanyl",
                period=period,
                year=year,
                component=component,
                land_only=land_only,
                release=release,
                stacked=stacked,
                fmt=f,
            )
        elif kind == "share":
            ds = dataset or "drug-seizures"
            written = charts.share_chart(
                con,
                path,
                drug=(drug or "Fentanyl") if ds == "drug-seizures" else drug,
                dataset=ds,
                region=region,
                threshold=threshold / 100,
                component=component,
                land_only=land_only,
                release=release,
                fmt=f,
            )
        else:
            if drug:
                raise ConfigError("--drug does not apply to encounters")
            written = charts.encounters_chart(
                con, path, dataset=dataset, period=period, year=year, release=release, fmt=f
            )
    print(written)
