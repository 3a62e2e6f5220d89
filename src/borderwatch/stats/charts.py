"""Charts of the stats store, PNG or SVG (matplotlib's Agg canvas, imported lazily).

* :func:`seizures_chart` — monthly seizures of a drug by region: all regions on one scale
  (lines or stacked), then each region on its own scale (the northern border's pounds are
  invisible next to the southwest's);
* :func:`share_chart` — a region's share (default the northern border) over time: the
  share over the 12 months to each month, against nationwide and against the two land
  borders, each fiscal year's share, and a threshold line (default 1%);
* :func:`encounters_chart` — monthly encounters by region and component.

Every chart says what it shows: labelled axes with units, a title, fiscal years marked,
and a caption with the sources (dataset, release label, file, SHA-256 prefix), the
definition (filters, months covered, incomplete years) and the software version.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import ConfigError, OutputError
from . import query as q

KINDS = ("seizures", "share", "encounters")
FORMATS = ("png", "svg")
REGION_COLOURS = {"north": "#1565c0", "southwest": "#c62828", "other": "#6d4c41"}
COMPONENT_STYLES = {"OFO": "-", "USBP": "--"}
_FALLBACK = ("#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#9e9d24")
WIDTH_PX = 1600
DPI = 100


@dataclass
class Series:
    label: str
    months: list[date]
    values: list[float | None]  # None: no data for that month (a gap)
    colour: str
    style: str = "-"


@dataclass
class Panel:
    title: str
    ylabel: str
    series: list[Series]
    stacked: bool = False
    percent: bool = False
    hlines: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    steps: list[tuple[date, date, float, str]] = field(default_factory=list)  # fiscal-year values
    height: float = 1.0


def _fmt(path: Path, fmt: str | None) -> str:
    f = (fmt or path.suffix.lstrip(".")).lower()
    if f not in FORMATS:
        raise ConfigError(f"{path}: cannot tell the chart format; use a .png or .svg name or --format png|svg")
    return f


def _region_colour(name: str, i: int) -> str:
    key = q.region_key(name)
    return REGION_COLOURS.get(key or "", _FALLBACK[i % len(_FALLBACK)])


def region_display(name: str) -> str:
    """``Other`` (CBP's and the loader's word for coastal and interior) spelt out."""
    return "Other (coastal and interior)" if str(name) == "Other" else str(name)


def _sources(plans: Sequence[q.Plan]) -> str:
    bits: list[str] = []
    for p in plans:
        for r in p.releases:
            fys = sorted({part.fy for part in p.parts if part.release is r})
            span = f"FY{fys[0]}" + (f"–FY{fys[-1]}" if len(fys) > 1 else "") if fys else ""
            text = f"{q.DATASET_TITLES[p.dataset]}, {r.cite()}" + (f" for {span}" if len(p.releases) > 1 else "")
            if text not in bits:
                bits.append(text)
    return "Source: " + "; ".join(bits) + "."


def _incomplete(plans: Sequence[q.Plan]) -> str:
    notes = []
    for p in plans:
        covered = set(p.covered)
        for fy in sorted({q.fiscal_year(m) for m in p.period.months}):
            have = [m for m in q.fy_months(fy) if m in covered]
            if have and len(have) < 12:
                notes.append(f"FY{fy}: {len(have)} of 12 months ({q.fmt_span(have)})")
    return ("Incomplete fiscal years: " + "; ".join(dict.fromkeys(notes)) + ".") if notes else ""


def _caption(plan: q.Plan, definition: str, note: str) -> str:
    """Sources, incomplete years, the definition and the location caveat, in one line."""
    return " ".join(x for x in (_sources([plan]), _incomplete([plan]), definition, note) if x)


def _region_rank(name: object) -> int:
    """Sort key: Southwest, then Northern, then the rest."""
    return ["southwest", "north", "other"].index(q.region_key(str(name)) or "other")


def _series_table(
    t: q.Table, plan: q.Plan, keys: Sequence[str], value: str
) -> tuple[list[date], dict[tuple[Any, ...], list[float | None]]]:
    """Monthly values per key (e.g. region) over the plan's months; None where not covered."""
    months = list(plan.period.months)
    covered = set(plan.covered)
    # Trim leading / trailing months the data do not cover.
    while months and months[0] not in covered:
        months.pop(0)
    while months and months[-1] not in covered:
        months.pop()
    idx = {m: i for i, m in enumerate(months)}
    out: dict[tuple[Any, ...], list[float | None]] = {}
    ki = [t.columns.index(k) for k in keys]
    mi = t.columns.index("month")
    vi = t.columns.index(value)
    for row in t.rows:
        key = tuple(row[i] for i in ki)
        if key not in out:
            out[key] = [0.0 if m in covered else None for m in months]
        m = q.parse_month(row[mi])
        if m in idx:
            out[key][idx[m]] = float(row[vi] or 0)
    return months, out


def _plan_of(
    view: q.StatsView,
    t: q.Table,
    dataset: str,
    period: str,
    year: int | None,
    end_month: str | date | None,
    release: str | None,
) -> q.Plan:
    spec = q.resolve_period(view, dataset, period, year, end_month, release)
    return q.plan(view, dataset, spec, release, annual=False)


def seizures_chart(
    con: Any,
    path: str | Path,
    *,
    drug: str = "Fentanyl",
    period: str = "all",
    year: int | None = None,
    end_month: str | date | None = None,
    component: str | None = None,
    land_only: bool = False,
    release: str | None = None,
    stacked: bool = False,
    fmt: str | None = None,
) -> Path:
    """Monthly pounds of ``drug`` seized by region (all regions, then each on its own scale)."""
    view = q.view_of(con)
    out = Path(path)
    f = _fmt(out, fmt)
    t = q.seizures(
        view,
        drug=drug,
        by=("month", "region"),
        period=period,
        year=year,
        end_month=end_month,
        component=component,
        land_only=land_only,
        release=release,
    )
    plan = _plan_of(view, t, q.SEIZURES, period, year, end_month, release)
    months, data = _series_table(t, plan, ["region"], "lbs")
    regions = sorted(data, key=lambda k: _region_rank(k[0]))
    series = [
        Series(
            f"{region_display(r[0])} — {sum(v or 0 for v in data[r]):,.1f} lb",
            months,
            data[r],
            _region_colour(str(r[0]), i),
        )
        for i, r in enumerate(regions)
    ]
    drug_name = t.definition["filters"].get("drug", [drug])[0]
    panels = [Panel("All regions, one scale", "lb seized per month", series, stacked=stacked, height=1.4)]
    for s, r in zip(series, regions, strict=True):
        panels.append(Panel(f"{region_display(r[0])} alone (own scale)", "lb per month", [s], height=0.8))
    title = f"{drug_name} seized by CBP per month, by border region"
    sub = f"{t.definition['what']}; {plan.period.label}"
    caption = _caption(plan, f"Definition: {t.definition['what']}, by month of seizure.", q.LOCATION_NOTE)
    return _draw(out, f, title, sub, panels, caption)


def share_chart(
    con: Any,
    path: str | Path,
    *,
    drug: str | None = "Fentanyl",
    dataset: str = q.SEIZURES,
    region: str = "Northern",
    threshold: float | None = 0.01,
    component: str | None = None,
    land_only: bool = False,
    release: str | None = None,
    fmt: str | None = None,
) -> Path:
    """``region``'s share over time: 12 months to each month, per fiscal year, vs a threshold."""
    view = q.view_of(con)
    out = Path(path)
    f = _fmt(out, fmt)
    base: dict[str, Any] = {"dataset": dataset, "component": component}
    if dataset == q.SEIZURES:
        base.update(drug=drug, land_only=land_only or None)
    elif drug:
        raise ConfigError("--drug applies to drug seizures only")
    side = q.make_side(view, base)
    t = q.run_query(view, side, by=("month", "region"), period="all", release=release)
    plan = _plan_of(view, t, dataset, "all", None, None, release)
    months, data = _series_table(t, plan, ["region"], side.measure)
    target = q._resolve_regions(view, dataset, region)
    land = [str(s) for s in view.distinct(dataset, "region") if q.region_key(str(s)) in q.LAND_BORDERS]
    if len(view.distinct(dataset, "region")) < 2:
        raise ConfigError(f"{dataset} has one region only: a regional share cannot be drawn")

    def monthly(regions: Sequence[str] | None) -> list[float | None]:
        vals: list[float | None] = []
        for i in range(len(months)):
            col = [data[k][i] for k in data if regions is None or k[0] in regions]
            vals.append(None if any(v is None for v in col) else float(sum(v or 0 for v in col)))
        return vals

    num = monthly(target)
    den_all = monthly(None)
    den_land = monthly(land)

    def rolling(n: list[float | None], d: list[float | None]) -> list[float | None]:
        res: list[float | None] = []
        for i in range(len(months)):
            win = range(i - 11, i + 1)
            if i < 11 or any(n[j] is None or d[j] is None for j in win):
                res.append(None)
                continue
            dn = sum(d[j] or 0 for j in win)
            res.append(None if not dn else sum(n[j] or 0 for j in win) / dn)
        return res

    r_all = rolling(num, den_all)
    r_land = rolling(num, den_land)
    steps: list[tuple[date, date, float, str]] = []
    idx = {m: i for i, m in enumerate(months)}
    for fy in sorted({q.fiscal_year(m) for m in months}):
        ms = [m for m in q.fy_months(fy) if m in idx]
        vals = [(num[idx[m]], den_all[idx[m]]) for m in ms]
        if not ms or any(a is None or b is None for a, b in vals):
            continue
        dsum = sum(b or 0 for _, b in vals)
        if dsum:
            partial = "" if len(ms) == 12 else f" ({len(ms)} mo.)"
            steps.append((ms[0], q.month_add(ms[-1], 1), sum(a or 0 for a, _ in vals) / dsum, f"FY{fy}{partial}"))
    region_name = " + ".join(target)
    what = (
        f"{drug} seized"
        if dataset == q.SEIZURES
        else "Border Patrol encounters"
        if dataset == "ohss-usbp"
        else "encounters"
    )
    series = [
        Series("share of nationwide, 12 months to each month", months, r_all, "#1565c0"),
        Series(
            f"share of the two land borders ({' + '.join(land)}), 12 months to each month",
            months,
            r_land,
            "#00838f",
            "--",
        ),
    ]
    hl = [(threshold, f"{threshold * 100:g}% threshold")] if threshold is not None else []
    panel = Panel("", "share (%)", series, percent=True, hlines=hl, steps=steps, height=1.6)
    title = f"{region_name}'s share of {what}"
    sub = f"{side.describe()}; rolling 12 months and fiscal years (bars: share of nationwide per fiscal year)"
    note = q.LOCATION_NOTE if dataset == q.SEIZURES else q.ENCOUNTER_LOCATION_NOTE
    caption = _caption(plan, f"Definition: {side.describe()}; numerator {region_name}.", note)
    return _draw(out, f, title, sub, [panel], caption)


def encounters_chart(
    con: Any,
    path: str | Path,
    *,
    dataset: str | None = None,
    period: str = "all",
    year: int | None = None,
    end_month: str | date | None = None,
    encounter_type: str | None = None,
    release: str | None = None,
    fmt: str | None = None,
) -> Path:
    """Monthly encounters by region and component (one panel per region, own scale)."""
    view = q.view_of(con)
    out = Path(path)
    f = _fmt(out, fmt)
    t = q.encounters(
        view,
        dataset=dataset,
        by=("month", "region", "component"),
        period=period,
        year=year,
        end_month=end_month,
        encounter_type=encounter_type,
        release=release,
    )
    ds = t.definition["dataset"]
    plan = _plan_of(view, t, ds, period, year, end_month, release)
    months, data = _series_table(t, plan, ["region", "component"], "encounters")
    regions = sorted({k[0] for k in data}, key=_region_rank)
    all_series: list[Series] = []
    panels: list[Panel] = []
    for i, r in enumerate(regions):
        ss = []
        for k in sorted(k for k in data if k[0] == r):
            total = sum(v or 0 for v in data[k])
            ss.append(
                Series(
                    f"{region_display(r)} — {k[1]} ({total:,.0f})",
                    months,
                    data[k],
                    _region_colour(str(r), i),
                    COMPONENT_STYLES.get(str(k[1]), ":"),
                )
            )
        all_series += ss
        panels.append(Panel(f"{region_display(r)} (own scale)", "encounters per month", ss, height=0.8))
    if len(regions) > 1:
        panels.insert(0, Panel("All regions, one scale", "encounters per month", all_series, height=1.4))
    else:
        panels[0].height = 1.4
    title = f"{q.DATASET_TITLES[ds]}: encounters per month by region and component"
    sub = f"{t.definition['what']}; {plan.period.label}"
    caption = _caption(plan, f"Definition: {t.definition['what']}, by month.", q.ENCOUNTER_LOCATION_NOTE)
    return _draw(out, f, title, sub, panels, caption)


def chart(con: Any, kind: str, path: str | Path, **options: Any) -> Path:
    """Draw chart ``kind`` (seizures | share | encounters) to ``path``."""
    if kind == "seizures":
        return seizures_chart(con, path, **options)
    if kind == "share":
        return share_chart(con, path, **options)
    if kind == "encounters":
        return encounters_chart(con, path, **options)
    raise ConfigError(f"unknown chart {kind!r} (choose from: {', '.join(KINDS)})")


# --- drawing ---------------------------------------------------------------------------


def _draw(out: Path, fmt: str, title: str, subtitle: str, panels: list[Panel], caption: str) -> Path:
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from .. import __version__

    caption = f"{caption} Drawn by borderwatch {__version__}."
    cap_lines = textwrap.wrap(caption, 190)
    heights = [p.height for p in panels]
    head_in, cap_in, axis_in = 1.25, 0.16 * len(cap_lines) + 0.3, 0.8  # inches: title, caption, x labels
    fig_h = head_in + cap_in + axis_in + 2.6 * sum(heights)
    fig = Figure(figsize=(WIDTH_PX / DPI, fig_h), dpi=DPI)
    FigureCanvasAgg(fig)
    top = 1 - head_in / fig_h
    bottom = (cap_in + axis_in) / fig_h
    gs = fig.add_gridspec(
        len(panels), 1, height_ratios=heights, left=0.07, right=0.73, top=top, bottom=bottom, hspace=0.45
    )
    axes = [fig.add_subplot(gs[i, 0]) for i in range(len(panels))]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    all_months = sorted({m for p in panels for s in p.series for m in s.months})
    for ax, p in zip(axes, panels, strict=True):
        _fy_bands(ax, all_months, label=ax is axes[0])
        if p.stacked:
            xs = [mdates.date2num(m) for m in all_months]
            stack = [[(v or 0.0) for v in s.values] for s in p.series]
            ax.stackplot(xs, stack, labels=[s.label for s in p.series], colors=[s.colour for s in p.series], alpha=0.85)
        else:
            for s in p.series:
                xs = [mdates.date2num(m) for m in s.months]
                ys = [float("nan") if v is None else (v * 100 if p.percent else v) for v in s.values]
                dots = "o" if len(xs) <= 72 else None
                ax.plot(
                    xs,
                    ys,
                    color=s.colour,
                    linestyle=s.style,
                    linewidth=1.8 if dots else 1.4,
                    marker=dots,
                    markersize=2.5,
                    label=s.label,
                )
        for a, b, v, label in p.steps:
            x0, x1 = mdates.date2num(a), mdates.date2num(b)
            y = v * 100 if p.percent else v
            ax.hlines(y, x0, x1, colors="#424242", linewidth=3, alpha=0.55)
            ax.annotate(
                f"{label}: {y:.2f}%" if p.percent else f"{label}: {y:,.1f}",
                ((x0 + x1) / 2, y),
                xytext=(0, 5),
                textcoords="offset points",
                ha="center",
                fontsize=7.5,
                color="#212121",
            )
        for y, label in p.hlines:
            yy = y * 100 if p.percent else y
            ax.axhline(yy, color="#e65100", linestyle=(0, (6, 3)), linewidth=1.6, label=label)
        if p.steps:
            from matplotlib.lines import Line2D

            handles, labels = ax.get_legend_handles_labels()
            handles.append(Line2D([], [], color="#424242", linewidth=3, alpha=0.55))
            labels.append("share of nationwide per fiscal year")
        else:
            handles, labels = ax.get_legend_handles_labels()
        labels = [textwrap.fill(lb, 44) for lb in labels]
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
        if p.title:
            ax.set_title(p.title, loc="left", fontsize=10.5, fontweight="bold", pad=16 if ax is axes[0] else 6)
        ax.set_ylabel(p.ylabel)
        ax.set_ylim(bottom=0)
        if p.percent:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}%"))
        else:
            ax.yaxis.set_major_formatter(
                FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:,.1f}")
            )
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        loc = mdates.AutoDateLocator(minticks=6, maxticks=14)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    if all_months:
        axes[-1].set_xlim(mdates.date2num(all_months[0]) - 15, mdates.date2num(q.month_add(all_months[-1], 1)) + 15)
    axes[-1].set_xlabel("calendar month (shaded bands: U.S. fiscal years, October–September)")
    fig.text(0.07, 1 - 0.35 / fig_h, title, fontsize=15, fontweight="bold", va="center")
    fig.text(0.07, 1 - 0.7 / fig_h, subtitle, fontsize=9.5, color="#333333", va="center")
    fig.text(0.07, 0.2 / fig_h, "\n".join(cap_lines), fontsize=8, color="#424242", va="bottom", linespacing=1.35)
    return _save(fig, out, fmt)


def _fy_bands(ax: Any, months: Sequence[date], *, label: bool) -> None:
    import matplotlib.dates as mdates

    if not months:
        return
    first, last = q.fiscal_year(months[0]), q.fiscal_year(months[-1])
    every = max(1, -(-(last - first + 1) // 14))  # at most ~14 labels
    for fy in range(first, last + 1):
        a = mdates.date2num(date(fy - 1, 10, 1))
        b = mdates.date2num(date(fy, 10, 1))
        if fy % 2 == 0:
            ax.axvspan(a, b, color="#f2f2f2", zorder=0, linewidth=0)
        if label and (fy - first) % every == 0:
            ax.text(
                (a + b) / 2,
                1.01,
                f"FY{fy}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#616161",
            )


def _save(fig: Any, out: Path, fmt: str) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as fh:
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(fh, format=fmt, dpi=DPI, metadata=meta)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
