"""`borderwatch stats`: load CBP's public files into the statistics store, list and diff releases,
download files.

This module creates the ``stats`` sub-app and its data-management commands (load,
releases, diff, fetch). The query commands (seizures, encounters, check, chart) live in
``cli/stats_query.py``, which registers them on :data:`stats_app`; see the end of this file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import ConfigError
from . import app

if TYPE_CHECKING:
    from ..stats.store import Diff, Release, Store

stats_app = typer.Typer(
    name="stats",
    help=(
        "Border statistics: load CBP's public files (drug seizures, encounters) into a local store, "
        "list and diff releases, query them and check claims. See docs/stats.md."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(stats_app, name="stats")

# ---------------------------------------------------------------------------- shared options
# (also used by cli/stats_query.py)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="The statistics store (default: $BORDERWATCH_STATS_DB or ~/.local/share/borderwatch/stats.duckdb).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def open_store(db: Path | None, *, read_only: bool = False) -> Store:
    """Open the store at ``--db`` (or the default); read-only requires it to exist."""
    from ..stats.store import Store

    return Store(db, read_only=read_only)


def emit_json(obj: Any) -> None:
    """Write ``obj`` to stdout as indented JSON (non-ASCII kept, e.g. en dashes)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------- load

_LOAD_EPILOG = """
Examples:

  borderwatch stats load nationwide-drugs-fy19-fy22.csv nationwide-drugs-fy23-fy26-dec.csv

  borderwatch stats load sbo-encounters-fy22-fy25-aug.csv --db border.duckdb --json

Reads CBP's Nationwide Drug Seizures, Nationwide Encounters (by area of responsibility or by state), Southwest Land Border Encounters CSVs and the DHS OHSS USBP encounters workbook (.xlsx); the dataset is recognised from the header. Every row is validated first: a malformed file is reported with its line and column and nothing is loaded (with several files, none is). A file already in the store (same SHA-256) is not loaded again.

Exit status: 0 loaded (or already there), 2 bad input.
"""


@stats_app.command("load", epilog=_LOAD_EPILOG, no_args_is_help=True)
def load_command(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="CBP CSV files or the OHSS .xlsx workbook.")],
    db: DbOption = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", metavar="NAME", help="Refuse files that are not this dataset.", show_default=False),
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--source-url",
            metavar="URL",
            help="Where the file was downloaded from (provenance; one FILE).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate CBP files and load them into the store (all or nothing; idempotent per file)."""
    if source_url is not None and len(files) != 1:
        raise ConfigError("--source-url goes with exactly one FILE")
    with open_store(db) as store:
        results = store.load_many(files, source_urls=[source_url] * len(files), dataset=dataset)
        if as_json:
            emit_json({"store": str(store.path), "results": [r.to_dict() for r in results]})
            return
        for r in results:
            print(r.message)
            for note in r.notes:
                print(f"  note: {note}")
        print(f"store: {store.path}")


# ---------------------------------------------------------------------------- releases


@stats_app.command("releases")
def releases_command(
    dataset: Annotated[
        str | None, typer.Option("--dataset", metavar="NAME", help="Only this dataset.", show_default=False)
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the releases (loaded files) in the store, with their provenance."""
    with open_store(db, read_only=True) as store:
        rels = store.releases(dataset)
        current = {d: store.current_release(d) for d in {r.dataset for r in rels}}
        if as_json:
            emit_json(
                {
                    "store": str(store.path),
                    "releases": [
                        {
                            **r.to_dict(),
                            "current": (c := current.get(r.dataset)) is not None and c.release_id == r.release_id,
                        }
                        for r in rels
                    ],
                }
            )
            return
        if not rels:
            print(f"no releases in {store.path}; load files with `borderwatch stats load FILE`")
            return
        _print_releases(rels, {c.release_id for c in current.values() if c is not None})
        print(f"store: {store.path}   (* current release of its dataset: the one with the latest data)")


def _print_releases(rels: list[Release], current: set[str]) -> None:
    head = ("release", "dataset", "covers", "rows", "loaded (UTC)", "file", "sha256", "source")
    rows = [
        (
            r.release_id + ("*" if r.release_id in current else ""),
            r.dataset,
            r.label or "",
            f"{r.rows:,}",
            r.loaded_at.strftime("%Y-%m-%d %H:%M"),
            r.file_name,
            r.sha256[:16] + "…",
            r.source_url or "-",
        )
        for r in rels
    ]
    _table(head, rows, right={3})


def _table(
    head: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: frozenset[int] | set[int] = frozenset()
) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


# ---------------------------------------------------------------------------- diff

_DIFF_EPILOG = """
Examples:

  borderwatch stats releases --dataset drug-seizures

  borderwatch stats diff 3f2a9c01 edac57a7

  borderwatch stats diff 3f2a9c01 edac57a7 --json > revisions.json

RELEASE_A is the older release, RELEASE_B the newer (ids or unique prefixes from `stats releases`). Compares the months both releases cover: rows only in B (added), only in A (removed) and with other figures (changed), each identified by month, component, region, land filter, area of responsibility and drug (encounters: their categories), summed per month and region and listed in detail.
"""


@stats_app.command("diff", epilog=_DIFF_EPILOG, no_args_is_help=True)
def diff_command(
    release_a: Annotated[str, typer.Argument(metavar="RELEASE_A", help="The older release (id or prefix).")],
    release_b: Annotated[str, typer.Argument(metavar="RELEASE_B", help="The newer release (id or prefix).")],
    db: DbOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Rows listed in detail (text output; --json lists all).")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show what CBP revised between two releases of the same dataset."""
    with open_store(db, read_only=True) as store:
        d = store.diff(release_a, release_b)
    if as_json:
        emit_json(d.to_dict())
        return
    _print_diff(d, limit)


def _fmt_measure(m: str, v: float) -> str:
    return f"{v:+,.1f} lb" if m == "lbs" else f"{int(v):+,} {'events' if m == 'events' else ''}".rstrip()


def _fmt_values(measures: tuple[str, ...], vals: dict[str, float] | None) -> str:
    if vals is None:
        return "-"
    return ", ".join(f"{vals[m]:,.3f} lb" if m == "lbs" else f"{int(vals[m]):,} {m}" for m in measures)


def _print_diff(d: Diff, limit: int) -> None:
    a, b = d.a, d.b
    print(f"{d.dataset}: {a.release_id} ({a.label}, {a.file_name})  ->  {b.release_id} ({b.label}, {b.file_name})")
    if not d.overlaps:
        print("The two releases cover no common month: there is nothing to compare.")
        return
    span = []
    if d.first_month and d.last_month:
        span.append(f"months {d.first_month:%b %Y} to {d.last_month:%b %Y}")
    if d.annual_fys:
        span.append(f"annual figures FY{d.annual_fys[0]}-FY{d.annual_fys[-1]}")
    print(f"Compared: {' and '.join(span)}; {d.rows_compared:,} rows")
    if d.identical:
        print("No revisions: every row is the same in both releases.")
        return
    totals = ", ".join(
        f"{_fmt_values((m,), d.total_before)} -> {_fmt_values((m,), d.total_after)} ({_fmt_measure(m, d.total_delta[m])})"
        for m in d.measures
    )
    print(f"Revisions: {d.count('changed')} changed, {d.count('added')} added, {d.count('removed')} removed; "
          f"totals {totals}")  # fmt: skip
    print()
    print("By month and region:")
    head = ("month", "region", "changed", "added", "removed", *(f"Δ {m}" for m in d.measures))
    rows = [
        (
            f"{g.month:%Y-%m}" if g.month else f"FY{g.fy}",
            g.region or "-",
            str(g.changed),
            str(g.added),
            str(g.removed),
            *(_fmt_measure(m, g.delta[m]) for m in d.measures),
        )
        for g in d.groups
    ]
    _table(head, rows, right={2, 3, 4, *range(5, 5 + len(d.measures))})
    if limit == 0:
        return
    print()
    shown = d.changes[:limit]
    print(
        f"Rows ({len(shown)} of {len(d.changes)}{'; --limit N or --json for more' if len(shown) < len(d.changes) else ''}):"
    )
    keys = [k for k in (d.changes[0].key if d.changes else {}) if k != "fy"]
    head2 = ("kind", *keys, "before", "after")
    rows2 = [
        (
            c.kind,
            *(_fmt_key(c.key[k]) for k in keys),
            _fmt_values(d.measures, c.before),
            _fmt_values(d.measures, c.after),
        )
        for c in shown
    ]
    _table(head2, rows2)


def _fmt_key(v: Any) -> str:
    import datetime as dt

    if v is None:
        return "-"
    if isinstance(v, dt.date):
        return f"{v:%Y-%m}"
    if isinstance(v, bool):
        return "land only" if v else "other"
    return str(v)


# ---------------------------------------------------------------------------- fetch

_FETCH_EPILOG = """
Examples:

  borderwatch stats fetch drug-seizures --dest data/ --load

  borderwatch stats fetch https://www.cbp.gov/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv --sha256 edac57a7...

DATASET is one of drug-seizures, encounters-aor, encounters-state, sbo-encounters (the last direct link known; CBP renames its files every month, so it may be stale) or a URL. Retries connection errors, 5xx and 429 (honouring Retry-After), writes the file only when complete, and records URL, time and SHA-256 beside it (FILE.provenance.json), which `stats load` keeps. CBP's site often refuses automated downloads (HTTP 403): then download the file in a browser and run `borderwatch stats load FILE`.
"""


@stats_app.command("fetch", epilog=_FETCH_EPILOG, no_args_is_help=True)
def fetch_command(
    target: Annotated[str, typer.Argument(metavar="DATASET|URL", help="A dataset name or a URL.")],
    dest: Annotated[Path, typer.Option("--dest", metavar="DIR", help="Folder to download into.")] = Path("."),
    load: Annotated[bool, typer.Option("--load", help="Load the file into the store once downloaded.")] = False,
    db: DbOption = None,
    sha256: Annotated[
        str | None,
        typer.Option(
            "--sha256", metavar="HEX", help="Expected SHA-256; a different file is an error.", show_default=False
        ),
    ] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries after the first attempt.")] = 3,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per connection attempt.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Download a CBP file (with retries, checksum and provenance), optionally loading it."""
    from ..stats.fetch import fetch_file, resolve

    url, dataset = resolve(target)
    got = fetch_file(url, dest_dir=dest, retries=retries, timeout=timeout, sha256=sha256, dataset=dataset)
    out: dict[str, Any] = {"fetched": got.to_dict()}
    if load:
        with open_store(db) as store:
            res = store.load(got.path, source_url=got.url, dataset=dataset)
            out["load"] = res.to_dict()
            out["store"] = str(store.path)
    if as_json:
        emit_json(out)
        return
    print(f"{got.path}: {got.size_bytes:,} bytes from {got.final_url}")
    print(f"sha256 {got.sha256}  (fetched {got.fetched_at}, {got.attempts} attempt(s); provenance beside the file)")
    if load:
        print(out["load"]["message"])


# ---------------------------------------------------------------------------- query commands
# `seizures`, `encounters`, `check` and `chart` are defined in cli/stats_query.py, which
# imports `stats_app` (and DbOption / JsonOption / open_store) from this module and adds
# its commands to it. Imported last so that it sees everything above; this module works
# without it.
def _load_query_commands() -> None:
    import importlib
    import importlib.util

    name = f"{__package__}.stats_query"
    if importlib.util.find_spec(name) is None:
        return  # not there (yet): load/releases/diff/fetch work alone
    try:
        importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - keep the rest of the CLI working, say why
        print(f"borderwatch: warning: stats query commands unavailable ({exc})", file=sys.stderr)


_load_query_commands()
