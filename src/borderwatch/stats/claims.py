"""Claims about border statistics, checked under every definition the data allows.

A claim file (YAML) states each claim in words, who made it, and as a comparison::

    claims:
      - id: fentanyl-share-northern
        text: "Less than 1% of the fentanyl entering the US comes from Canada."
        source: {who: "...", when: "February 2025", statement: "..."}
        comparison:
          metric: share                      # share | total | ratio
          numerator: {dataset: drug-seizures, drug: Fentanyl, region: Northern Border}
          denominator: {dataset: drug-seizures, drug: Fentanyl}
          op: "<"                            # < <= > >= ~= ==
          value: 1%                          # a fraction (0.01) or a percentage

:func:`load_claims` validates a file (pydantic, unknown keys rejected; every error names
the file and line). :func:`evaluate` computes one :class:`Verdict` per definition:

* period: each fiscal year and each calendar year the data cover (partial years are
  evaluated and marked), and the 12 months to the latest month;
* agency: OFO + USBP, OFO only, USBP only (unless the claim names one, or the data hold one);
* denominator (shares): as stated (e.g. nationwide) and the two land borders only;
* land filter (drug seizures): all seizures and CBP's "Land Only".

Each verdict says holds / fails / not computable (with why), gives the numbers and the full
definition (releases, SHA-256, months covered). A claim about origin ("comes from Canada")
gets the note that seizure (or encounter) location is not origin.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from . import query as q

OPS = ("<", "<=", ">", ">=", "~=", "==")
HOLDS, FAILS, NOT_COMPUTABLE = "holds", "fails", "not computable"

_ORIGIN_RE = re.compile(
    r"\b(come|comes|coming|came|originat\w*|sourced?|produced|made in|flows?|flowing|pour\w*)\b"
    r"|\bfrom (canada|mexico|china|the north|the south)\b",
    re.IGNORECASE,
)


class ClaimFileError(ConfigError):
    """A claim file cannot be read or is invalid (the message names file and line)."""


# --- the file format -------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


StrList = str | list[str]


class SideSpec(_Strict):
    """One side of a comparison: a dataset, optionally a measure, and filters."""

    dataset: Literal["drug-seizures", "encounters-aor", "encounters-state", "sbo-encounters", "ohss-usbp"]
    measure: Literal["lbs", "events", "encounters"] | None = None
    drug: StrList | None = None
    region: StrList | None = None
    component: Literal["OFO", "USBP"] | None = None
    land_only: bool | None = None
    aor: StrList | None = None
    state: StrList | None = None
    demographic: StrList | None = None
    citizenship: StrList | None = None
    title: StrList | None = None
    encounter_type: StrList | None = None

    @field_validator("component", mode="before")
    @classmethod
    def _component(cls, v: Any) -> Any:
        if isinstance(v, str):
            key = q.component_key(v)
            if key is None:
                raise ValueError(f"unknown component {v!r} (expected OFO or USBP)")
            return key
        return v

    @model_validator(mode="after")
    def _fits_dataset(self) -> SideSpec:
        seizures = self.dataset == q.SEIZURES
        wrong = [k for k in ("drug", "land_only") if getattr(self, k) is not None and not seizures]
        wrong += [
            k
            for k in ("state", "demographic", "citizenship", "title", "encounter_type")
            if getattr(self, k) is not None and seizures
        ]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} cannot be used with dataset {self.dataset}")
        if self.measure is not None and self.measure not in q.MEASURES[self.dataset]:
            raise ValueError(
                f"dataset {self.dataset} has no measure {self.measure!r} (known: {', '.join(q.MEASURES[self.dataset])})"
            )
        return self

    def mapping(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Source(_Strict):
    """Who made the claim, when, where (in words) and a URL when one is known for certain."""

    who: str = Field(min_length=1)
    when: str = Field(min_length=1)
    statement: str | None = None
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"https?://[^\s/]+\.[^\s]+$", v):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v


def _number(v: Any) -> Any:
    """``1%`` → 0.01, ``20,600`` → 20600; other values unchanged (pydantic checks them)."""
    if isinstance(v, str):
        t = v.strip().replace(" ", "")
        pct = t.endswith("%")
        t = t.rstrip("%")
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", t):
            t = t.replace(",", "")
        try:
            x = float(t)
        except ValueError:
            raise ValueError(f"not a number: {v!r}") from None
        return x / 100 if pct else x
    return v


class Comparison(_Strict):
    """``metric`` of the sides, compared with ``value`` by ``op``."""

    metric: Literal["share", "total", "ratio"]
    of: SideSpec | None = None  # total
    numerator: SideSpec | None = None  # share, ratio
    denominator: SideSpec | None = None
    op: Literal["<", "<=", ">", ">=", "~=", "=="]
    value: float
    tolerance: float | None = Field(None, gt=0, lt=1, description="relative, for ~=: 0.1 = within 10% of value")
    unit: str | None = None

    @field_validator("value", "tolerance", mode="before")
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        return _number(v)

    @model_validator(mode="after")
    def _shape(self) -> Comparison:
        if self.metric == "total":
            if self.of is None or self.numerator is not None or self.denominator is not None:
                raise ValueError("metric total takes 'of' (what is counted), not numerator/denominator")
        else:
            if self.numerator is None or self.denominator is None or self.of is not None:
                raise ValueError(f"metric {self.metric} takes 'numerator' and 'denominator', not 'of'")
        if self.op == "~=" and self.tolerance is None:
            raise ValueError("op '~=' needs a tolerance (relative, e.g. 0.1 for within 10%)")
        if self.op != "~=" and self.tolerance is not None:
            raise ValueError("tolerance applies to op '~=' only")
        if self.metric == "share" and not 0 <= self.value <= 1:
            raise ValueError(f"a share is between 0 and 1 (or 0% and 100%), got {self.value}")
        if not math.isfinite(self.value):
            raise ValueError("value must be finite")
        return self

    def sides(self) -> list[SideSpec]:
        return [s for s in (self.of, self.numerator, self.denominator) if s is not None]


PeriodKind = Literal["fiscal", "calendar", "trailing12"]
_ALL_PERIODS: tuple[PeriodKind, ...] = ("fiscal", "calendar", "trailing12")


class Vary(_Strict):
    """Which definitions to enumerate (all by default)."""

    periods: list[PeriodKind] = Field(default_factory=lambda: list(_ALL_PERIODS), min_length=1)
    since: int | None = Field(None, ge=1900, le=2200, description="first fiscal / calendar year")
    until: int | None = Field(None, ge=1900, le=2200, description="last fiscal / calendar year")
    years: list[int] | None = None
    components: bool = True
    denominators: bool = True
    land: bool = True
    partial: bool = True


class Claim(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    text: str = Field(min_length=1)
    source: Source
    comparison: Comparison
    about_origin: bool | None = None  # None: detected from the text ("comes from ...")
    note: str | None = None
    vary: Vary = Field(default_factory=Vary)

    @property
    def origin(self) -> bool:
        return self.about_origin if self.about_origin is not None else bool(_ORIGIN_RE.search(self.text))


class ClaimFile(_Strict):
    title: str | None = None
    description: str | None = None
    claims: list[Claim] = Field(min_length=1)

    @field_validator("claims")
    @classmethod
    def _unique(cls, v: list[Claim]) -> list[Claim]:
        seen: set[str] = set()
        for c in v:
            if c.id in seen:
                raise ValueError(f"claim id {c.id!r} is used twice")
            seen.add(c.id)
        return v


def _dup_key_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (first on line {seen[key]})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return dict(loader.construct_mapping(node, deep=deep))

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


def parse_claims(text: str, name: str = "<claims>") -> ClaimFile:
    """Validate claim-file text; errors are ``NAME:LINE: key.path: message``."""
    import yaml

    from ..config_locate import describe, key_line, parse_error

    try:
        data = yaml.load(text, Loader=_dup_key_loader())
    except yaml.YAMLError as exc:
        line, col, msg = parse_error(exc, text)
        at = f":{line}" + (f":{col}" if col else "") if line else ""
        raise ClaimFileError(f"{name}{at}: cannot parse YAML: {msg}") from None
    if data is None:
        raise ClaimFileError(f"{name}: the file is empty (expected a mapping with 'claims:')")
    if isinstance(data, list):
        raise ClaimFileError(f"{name}:1: expected a mapping with 'claims:' at the top level, got a list")
    if not isinstance(data, dict):
        raise ClaimFileError(f"{name}:1: expected a mapping with 'claims:' at the top level, got {type(data).__name__}")
    try:
        return ClaimFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x in _UNION_TAGS))
            line = key_line(text, "yaml", loc)
            err = dict(e)
            err["loc"] = loc
            problems.append(f"{name}{f':{line}' if line else ''}: {describe(err, ClaimFile)}")  # type: ignore[arg-type]
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ClaimFileError("; ".join(problems[:3]) + more) from None


# pydantic names union members in error locations ("region.str"); they are not YAML keys.
_UNION_TAGS = frozenset({"str", "list[str]", "int", "float", "bool", "function-after[_number(), float]"})


def load_claims(path: str | Path) -> ClaimFile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClaimFileError(f"claim file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClaimFileError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_claims(text, str(p))


# --- definitions and verdicts ----------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """One way of reading a claim: period, agency, denominator scope, land filter."""

    period: str  # fiscal | calendar | trailing12
    year: int | None
    component: str | None  # None: as the claim says (both, or the one it names)
    scope: str  # "as stated" | "land borders" (denominator of a share)
    land_only: bool | None  # None: as the claim says

    def period_short(self, end: str | None = None) -> str:
        if self.period == "fiscal":
            return f"FY{self.year}"
        if self.period == "calendar":
            return f"CY{self.year}"
        return f"12 mo. to {end}" if end else "trailing 12 months"


@dataclass
class Verdict:
    claim_id: str
    status: str  # holds | fails | not computable
    value: float | None
    numerator: float | None
    denominator: float | None
    unit: str
    period: str  # the period label ("FY2024 (Oct 2023–Sep 2024)")
    period_short: str  # "FY2024"
    agency: str  # "OFO+USBP" / "OFO" / "USBP"
    scope: str  # of what (shares): "nationwide" / "the two land borders" / as stated
    land: str  # "all" / "land only" / "n/a"
    complete: bool  # the period is fully covered by the data
    definition: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    why: str | None = None
    deviation: float | None = None  # (value - claimed) / claimed, for ~=

    @property
    def label(self) -> str:
        bits = [self.period_short, self.agency]
        if self.scope:
            bits.append(f"of {self.scope}")
        if self.land != "n/a":
            bits.append("land only" if self.land == "land only" else "all seizures")
        return " · ".join(bits) + ("" if self.complete else " (partial period)")

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 6)

        return {
            "claim": self.claim_id,
            "status": self.status,
            "label": self.label,
            "value": r(self.value),
            "numerator": r(self.numerator),
            "denominator": r(self.denominator),
            "unit": self.unit,
            "deviation": r(self.deviation),
            "period": self.period,
            "agency": self.agency,
            "scope": self.scope,
            "land": self.land,
            "complete": self.complete,
            "why": self.why,
            "definition": self.definition,
            "notes": list(self.notes),
        }


@dataclass
class ClaimResult:
    claim: Claim
    verdicts: list[Verdict]
    notes: list[str]

    @property
    def summary(self) -> str:
        return summarize(self.verdicts)

    @property
    def overall(self) -> str:
        return overall(self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id,
            "text": c.text,
            "source": c.source.model_dump(exclude_none=True),
            "comparison": c.comparison.model_dump(exclude_none=True),
            "about_origin": c.origin,
            "note": c.note,
            "overall": self.overall,
            "summary": self.summary,
            "counts": dict(Counter(v.status for v in self.verdicts)),
            "notes": list(self.notes),
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


def _datasets(claim: Claim) -> list[str]:
    return list(dict.fromkeys(s.dataset for s in claim.comparison.sides()))


def definitions(con: Any, claim: Claim) -> list[Definition]:
    """Every definition under which ``claim`` is evaluated, in display order."""
    view = q.view_of(con)
    cmp_ = claim.comparison
    vary = claim.vary
    datasets = _datasets(claim)
    rels = [r for ds in datasets for r in view.releases(ds)]
    fys: set[int] = set()
    cys: set[int] = set()
    fytd: set[int] = set()
    for r in rels:
        fys |= set(r.fiscal_years())
        cys |= {m.year for m in r.months}
        fytd |= set(r.fytd_fys)

    def keep(y: int) -> bool:
        return (
            (vary.since is None or y >= vary.since)
            and (vary.until is None or y <= vary.until)
            and (vary.years is None or y in vary.years)
        )

    periods: list[tuple[str, int | None]] = []
    if "fiscal" in vary.periods:
        periods += [("fiscal", y) for y in sorted(fys) if keep(y)]
    if "calendar" in vary.periods:
        periods += [("calendar", y) for y in sorted(cys) if keep(y)]
    if not vary.partial:
        periods = [(k, y) for k, y in periods if y is not None and _period_complete(view, datasets, k, y)]
    if "trailing12" in vary.periods and rels:
        periods.append(("trailing12", None))

    sides = cmp_.sides()
    # Agency: vary when no side names one and every dataset involved has both.
    components: list[str | None] = [None]
    named = any(s.component is not None for s in sides)
    if vary.components and not named and all(len(view.distinct(ds, "component")) > 1 for ds in datasets):
        components += list(q.COMPONENTS)
    # Denominator: as stated and the two land borders, for a share whose denominator has no region.
    scopes = ["as stated"]
    den = cmp_.denominator
    if cmp_.metric == "share" and vary.denominators and den is not None and den.region is None:
        keys = {q.region_key(str(r)) for r in view.distinct(den.dataset, "region")}
        if set(q.LAND_BORDERS) <= keys and len(keys) > 2:
            scopes.append("land borders")
    # Land filter: drug seizures only.
    lands: list[bool | None] = [None]
    if vary.land and all(s.dataset == q.SEIZURES and s.land_only is None for s in sides):
        lands.append(True)
    return [
        Definition(kind, year, comp, scope, land)
        for kind, year in periods
        for comp in components
        for scope in scopes
        for land in lands
    ]


def _period_complete(view: q.StatsView, datasets: Sequence[str], kind: str, year: int) -> bool:
    for ds in datasets:
        try:
            spec = q.resolve_period(view, ds, kind, year)
            if not q.plan(view, ds, spec).complete:
                return False
        except q.NotComputable:
            return False
    return True


def _compare(op: str, value: float, target: float, tolerance: float | None) -> bool:
    if op == "<":
        return value < target
    if op == "<=":
        return value <= target
    if op == ">":
        return value > target
    if op == ">=":
        return value >= target
    if op == "==":
        return math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12)
    assert tolerance is not None
    return abs(value - target) <= tolerance * abs(target) + 1e-12


def _origin_notes(claim: Claim) -> list[str]:
    if not claim.origin:
        return []
    out = []
    datasets = _datasets(claim)
    if q.SEIZURES in datasets:
        out.append(q.LOCATION_NOTE)
    if any(ds != q.SEIZURES for ds in datasets):
        out.append(q.ENCOUNTER_LOCATION_NOTE)
    return out


def evaluate(con: Any, claim: Claim) -> list[Verdict]:
    """The claim under every definition of :func:`definitions`."""
    return evaluate_claim(con, claim).verdicts


def evaluate_claim(con: Any, claim: Claim) -> ClaimResult:
    view = q.view_of(con)
    cmp_ = claim.comparison
    origin = _origin_notes(claim)
    claim_notes = list(origin)
    try:
        sides = {
            name: q.make_side(view, spec.mapping())
            for name, spec in (("of", cmp_.of), ("numerator", cmp_.numerator), ("denominator", cmp_.denominator))
            if spec
        }
        if cmp_.metric == "share":
            q.check_share_sides(sides["numerator"], sides["denominator"])
    except q.NotComputable as exc:
        claim_notes.append(f"not computable: {exc}")
        return ClaimResult(claim, [], claim_notes)
    except q.QueryError as exc:
        raise ClaimFileError(f"claim {claim.id!r}: {exc}") from None
    defs = definitions(view, claim)
    verdicts = [_verdict(view, claim, sides, d, origin) for d in defs]
    verdicts = _merge_equivalent(verdicts)
    if not verdicts:
        claim_notes.append("no definition to evaluate: the store has no data for this claim's datasets and years")
    return ClaimResult(claim, verdicts, claim_notes)


def _land_borders(view: q.StatsView, side: q.Side) -> tuple[str, ...]:
    stored = view.distinct(side.dataset, "region")
    return tuple(sorted(str(s) for s in stored if q.region_key(str(s)) in q.LAND_BORDERS))


def _verdict(view: q.StatsView, claim: Claim, sides: dict[str, q.Side], d: Definition, origin: list[str]) -> Verdict:
    cmp_ = claim.comparison
    adj: dict[str, q.Side] = {}
    for name, side in sides.items():
        changes: dict[str, Any] = {}
        if d.component is not None:
            changes["component"] = tuple(
                s for s in view.distinct(side.dataset, "component") if q.component_key(str(s)) == d.component
            )
        if d.land_only:
            changes["land_only"] = True
        if name == "denominator" and d.scope == "land borders":
            changes["region"] = _land_borders(view, side)
        adj[name] = side.with_filters(**changes) if changes else side
    kw: dict[str, Any] = {"period": d.period, "year": d.year}
    first = adj.get("of") or adj["numerator"]
    agency = d.component or (
        "+".join(map(str, first.get("component")))
        if first.get("component")
        else (first.components_in_data[0] if len(first.components_in_data) == 1 else "OFO+USBP")
    )
    land = "n/a"
    if all(s.dataset == q.SEIZURES for s in adj.values()):
        land = "land only" if first.get("land_only") else "all"
    scope = ""
    num_v = den_v = value = None
    why = None
    notes: list[str] = []
    complete = False
    period_label = q.period_label(d.period, d.year)
    if cmp_.metric == "total":
        m = q.total(view, adj["of"], **kw)
        value, why, complete, notes = m.value, m.why, m.complete, list(m.notes)
        num_v = m.value
        defn: dict[str, Any] = {"metric": "total", "of": m.definition}
        unit = m.unit or q.UNITS[adj["of"].measure]
        period_label = m.definition.get("period", {}).get("label", period_label)
    else:
        fn = q.share if cmp_.metric == "share" else q.ratio
        r = fn(view, adj["numerator"], adj["denominator"], **kw)
        value, why, complete, notes = r.value, r.why, r.complete, list(r.notes)
        num_v, den_v = r.numerator.value, r.denominator.value
        defn = {"metric": cmp_.metric, "numerator": r.numerator.definition, "denominator": r.denominator.definition}
        unit = "share" if cmp_.metric == "share" else "ratio"
        period_label = r.numerator.definition.get("period", {}).get("label", period_label)
        den = adj["denominator"]
        scope = _scope_words(den) if cmp_.metric == "share" else ""
    if d.period == "trailing12":
        m_ = re.search(r"to (\w{3} \d{4})", period_label)
        short = d.period_short(m_.group(1) if m_ else None)
    else:
        short = d.period_short()
    status = NOT_COMPUTABLE
    deviation = None
    if value is not None and why is None:
        status = HOLDS if _compare(cmp_.op, value, cmp_.value, cmp_.tolerance) else FAILS
        if cmp_.value:
            deviation = (value - cmp_.value) / cmp_.value
    else:
        value = None
    defn.update(
        {
            "claim": {"op": cmp_.op, "value": cmp_.value, "tolerance": cmp_.tolerance},
            "period": period_label,
            "agency": agency,
            "denominator_scope": scope or None,
            "land": land,
        }
    )
    notes = [n for n in notes if n not in origin and n != q.LOCATION_NOTE]
    return Verdict(
        claim.id,
        status,
        value,
        num_v,
        den_v,
        unit,
        period_label,
        short,
        agency,
        scope,
        land,
        complete,
        defn,
        notes,
        why,
        deviation,
    )


def _scope_words(den: q.Side) -> str:
    region = den.get("region")
    if not region:
        return "nationwide" if len(den.regions_in_data) != 1 else str(den.regions_in_data[0])
    keys = {q.region_key(str(r)) for r in region}
    if keys == set(q.LAND_BORDERS) and len(region) == 2:
        return "the two land borders"
    return " + ".join(map(str, region))


def _merge_equivalent(verdicts: list[Verdict]) -> list[Verdict]:
    """Definitions that differ only in the denominator's scope and give the very same
    numbers (no Coastal/Interior seizure is 'Land Only') are shown once."""
    out: list[Verdict] = []
    index: dict[tuple[Any, ...], int] = {}
    for v in verdicts:
        key = (v.period, v.agency, v.land, v.numerator, v.denominator, v.status)
        i = index.get(key)
        if i is not None and v.value is not None and out[i].scope != v.scope:
            out[i].scope = f"{out[i].scope} = {v.scope}"
            out[i].definition["denominator_scope"] = out[i].scope
            continue
        index[key] = len(out)
        out.append(v)
    return out


# --- summaries -------------------------------------------------------------------------


def overall(verdicts: Sequence[Verdict]) -> str:
    full = [v for v in verdicts if v.complete and v.status != NOT_COMPUTABLE] or [
        v for v in verdicts if v.status != NOT_COMPUTABLE
    ]
    if not full:
        return "not computable"
    st = {v.status for v in full}
    if st == {HOLDS}:
        return "holds under every definition"
    if st == {FAILS}:
        return "fails under every definition"
    return "depends on the definition"


def _grouped(vs: Sequence[Verdict], everything: Sequence[Verdict]) -> str:
    """The definitions in words: each one when few, else periods with counts."""
    if len(vs) <= 4:
        return ", ".join(v.label for v in vs)
    c = Counter(v.period_short for v in vs)
    parts = [f"{p} ×{n}" if n > 1 else p for p, n in c.items()]
    if len(parts) > 10:
        parts = parts[:10] + [f"… {len(c) - 10} more periods"]
    common = _common(vs, everything)
    return ", ".join(parts) + (f"; {common}" if common else "")


def _reason(why: str | None) -> str:
    """A not-computable reason without its period, so that reasons can be counted."""
    text = (why or "unknown").split(" (")[0]
    return re.sub(r" for (FY\d|CY\d|12 months|every ).*$", "", text)


def summarize(verdicts: Sequence[Verdict]) -> str:
    """``holds under 14 of 22 definitions; fails under 8 (FY2020 ×3, ...; only USBP); ...``.

    The smaller of holds / fails is listed (each definition when few, else by period).
    """
    n = len(verdicts)
    if not n:
        return "no definition could be evaluated"
    holds = [v for v in verdicts if v.status == HOLDS]
    fails = [v for v in verdicts if v.status == FAILS]
    nc = [v for v in verdicts if v.status == NOT_COMPUTABLE]
    detail_holds = bool(holds) and len(holds) <= len(fails)
    out = [f"holds under {len(holds)} of {n} definitions" + (f" ({_grouped(holds, verdicts)})" if detail_holds else "")]
    if fails:
        out.append(f"fails under {len(fails)}" + ("" if detail_holds else f" ({_grouped(fails, verdicts)})"))
    if nc:
        reasons = Counter(_reason(v.why) for v in nc)
        out.append(
            f"not computable under {len(nc)} ({'; '.join(f'{r} ×{k}' if k > 1 else r for r, k in reasons.items())})"
        )
    partial = [v for v in verdicts if not v.complete and v.status != NOT_COMPUTABLE]
    if partial:
        ph = sum(v.status == HOLDS for v in partial)
        out.append(f"{len(partial)} of these are partial periods (year to date or incomplete): holds under {ph}")
        full = [v for v in verdicts if v.complete and v.status != NOT_COMPUTABLE]
        if full:
            fh = sum(v.status == HOLDS for v in full)
            out.append(f"over complete periods: holds under {fh} of {len(full)}")
    return "; ".join(out)


def _common(subset: Sequence[Verdict], everything: Sequence[Verdict]) -> str:
    """A dimension value shared by every failing definition, when it says something."""
    words = []
    for attr, name in (("agency", "agency"), ("land", "land"), ("scope", "of")):
        vals = {getattr(v, attr) for v in subset}
        allv = {getattr(v, attr) for v in everything}
        if len(vals) == 1 and len(allv) > 1:
            val = vals.pop()
            words.append(f"only {val}" if name == "agency" else f"only {name} {val}")
    return ", ".join(words)


def check_file(con: Any, path: str | Path) -> list[ClaimResult]:
    """Load and evaluate every claim of a claim file."""
    cf = load_claims(path)
    view = q.view_of(con)
    return [evaluate_claim(view, c) for c in cf.claims]


# --- display ---------------------------------------------------------------------------


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "share":
        return f"{v * 100:.2f}%" if v >= 0.0001 else f"{v * 100:.4f}%"
    if unit == "ratio":
        return f"{v:,.4g}"
    if unit == "lb":
        return f"{v:,.1f} lb"
    return f"{v:,.0f}"


def fmt_claimed(claim: Claim) -> str:
    c = claim.comparison
    unit = "share" if c.metric == "share" or (c.metric == "ratio" and c.value < 1) else (c.unit or "")
    val = fmt_value(c.value, unit) if unit in ("share", "lb") else f"{c.value:,g}{' ' + unit if unit else ''}"
    tol = f" ±{c.tolerance * 100:g}%" if c.tolerance else ""
    return f"{c.metric} {c.op} {val}{tol}"


_STATUS_STYLE = {HOLDS: "green", FAILS: "red", NOT_COMPUTABLE: "yellow"}


def render(
    results: Sequence[ClaimResult], console: Any, *, only: str | None = None, summary_only: bool = False
) -> None:
    """Print a verdict table per claim (rich)."""
    from rich.table import Table
    from rich.text import Text

    for res in results:
        c = res.claim
        console.print(Text(f"{c.id}: “{c.text}”", style="bold"))
        src = c.source
        said = (
            f"{src.who}, {src.when}"
            + (f" — {src.statement}" if src.statement else "")
            + (f" <{src.url}>" if src.url else "")
        )
        console.print(Text(f"  said by: {said}", style="dim"))
        console.print(Text(f"  tested as: {fmt_claimed(c)}; {_sides_words(c)}"))
        if c.note:
            console.print(Text(f"  note: {c.note}", style="yellow"))
        for n in res.notes:
            console.print(Text(f"  note: {n}", style="yellow"))
        style = {"holds under every definition": "bold green", "fails under every definition": "bold red"}.get(
            res.overall, "bold yellow"
        )
        console.print(Text(f"  verdict: {res.overall} — {res.summary}", style=style))
        if summary_only or not res.verdicts:
            console.print()
            continue
        vs = [v for v in res.verdicts if only is None or v.status == only]
        metric = c.comparison.metric
        t = Table(show_header=True, header_style="bold", box=None, pad_edge=False, padding=(0, 1))
        t.add_column("period")
        t.add_column("agency")
        if metric == "share":
            t.add_column("of")
        if any(v.land != "n/a" for v in vs):
            t.add_column("land")
        if metric == "total":
            t.add_column("total", justify="right")
            if c.comparison.op == "~=":
                t.add_column("vs claim", justify="right")
        else:
            t.add_column("numerator", justify="right")
            t.add_column("denominator", justify="right")
            t.add_column(metric, justify="right")
        t.add_column("verdict")
        t.add_column("release / notes", overflow="fold")
        unit = "share" if metric == "share" or (metric == "ratio" and c.comparison.value < 1) else metric
        for v in vs:
            partial = not v.complete and v.status != NOT_COMPUTABLE
            row: list[Any] = [v.period_short + (" *" if partial else ""), v.agency]
            if metric == "share":
                row.append(v.scope)
            if any(x.land != "n/a" for x in vs):
                row.append(v.land)
            side_unit = v.unit if metric == "total" else _side_unit(v)
            if metric == "total":
                row.append(fmt_value(v.value, side_unit))
                if c.comparison.op == "~=":
                    row.append("—" if v.deviation is None else f"{v.deviation * 100:+.1f}%")
            else:
                row += [
                    fmt_value(v.numerator, side_unit),
                    fmt_value(v.denominator, side_unit),
                    fmt_value(v.value, unit),
                ]
            row.append(Text(v.status, style=_STATUS_STYLE[v.status]))
            row.append(_release_words(v))
            t.add_row(*row)
        console.print(t)
        if any(not v.complete and v.status != NOT_COMPUTABLE for v in vs):
            console.print(
                Text("  * partial period: the data do not cover every month (year to date or incomplete)", style="dim")
            )
        console.print()


def _side_unit(v: Verdict) -> str:
    d = v.definition.get("numerator") or v.definition.get("of") or {}
    return str(d.get("unit", ""))


def _release_words(v: Verdict) -> str:
    """Release ids and short flags (the full notes are in --json)."""
    if v.why:
        return v.why
    ids: list[str] = []
    flags: list[str] = []
    for key in ("of", "numerator", "denominator"):
        d = v.definition.get(key) or {}
        for r in d.get("releases", []) or []:
            if r["release_id"] not in ids:
                ids.append(r["release_id"])
        per = d.get("period") or {}
        if per.get("months") and per.get("months_covered") is not None and per["months_covered"] < per["months"]:
            flag = f"{per['months_covered']} of {per['months']} months"
            if flag not in flags:
                flags.append(flag)
        if per.get("fytd") and "incl. FYTD" not in flags:
            flags.append("incl. FYTD")
    return ", ".join(ids) + (f" ({'; '.join(flags)})" if flags else "")


def _sides_words(c: Claim) -> str:
    cmp_ = c.comparison
    if cmp_.of is not None:
        return f"{cmp_.of.dataset}: {_spec_words(cmp_.of)}"
    assert cmp_.numerator is not None and cmp_.denominator is not None
    num, den = cmp_.numerator, cmp_.denominator
    return f"{_spec_words(num)} ({num.dataset}) over {_spec_words(den)} ({den.dataset})"


def _spec_words(s: SideSpec) -> str:
    m = s.mapping()
    m.pop("dataset", None)
    return ", ".join(f"{k}={v}" for k, v in m.items()) or "everything"
