"""Turn config-file parse and validation errors into ``FILE:LINE: key: message`` lines.

A user fixing a config file needs the line to look at, not a pydantic error dump:

* parse errors: the line (and column) tomllib or PyYAML reports;
* validation errors: the key path (``cross.strip_frac``, ``lines.0.sides``) mapped back
  to a line of the file: YAML through the composed node tree's marks, TOML by finding
  the table header and key name (a heuristic, but exact for ordinary files).

>>> from pydantic import BaseModel, ConfigDict, ValidationError
>>> class M(BaseModel):
...     model_config = ConfigDict(extra="forbid")
...     a: int = 1
>>> try:
...     M.model_validate({"b": 2})
... except ValidationError as exc:
...     print(describe(exc.errors()[0], M))
b: unknown key (expected one of: a)
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

Loc = tuple[int | str, ...]

_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def parse_error(exc: Exception, text: str) -> tuple[int | None, int | None, str]:
    """``(line, column, message)`` of a tomllib or PyYAML parse error (1-based)."""
    msg = str(exc)
    m = _TOML_AT.search(msg)
    if m:
        return int(m.group(1)), int(m.group(2)), msg[: m.start()]
    if _TOML_AT_END.search(msg):
        return text.count("\n") + 1, None, _TOML_AT_END.sub("", msg) + " (at end of file)"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None:
        parts = [p for p in (getattr(exc, "context", None), problem) if p]
        return int(mark.line) + 1, int(mark.column) + 1, "; ".join(parts) or msg.splitlines()[0]
    return None, None, " ".join(msg.split())


def describe(err: ErrorDetails, model: type[BaseModel]) -> str:
    """``key.path: message`` for one pydantic error, in a config author's words."""
    loc = tuple(err["loc"])
    where = ".".join(str(x) for x in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        hint = f" (expected one of: {', '.join(known)})" if known else ""
        return f"{where}: unknown key{hint}"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err["type"] == "missing":
        msg = "required key is missing"
    return f"{where}: {msg}"


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the (nested) model that ``loc`` points into, if any."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: same model as the list's items
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def key_line(text: str, fmt: str, loc: Loc) -> int | None:
    """1-based line of the key at ``loc`` in a TOML or YAML text, or of its nearest parent."""
    if not loc:
        return None
    try:
        return _yaml_line(text, loc) if fmt == "yaml" else _toml_line(text, loc)
    except Exception:  # locating is best effort: never hide the real error
        return None


def _yaml_line(text: str, loc: Loc) -> int | None:
    import yaml

    node = yaml.compose(text)
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line if line is not None else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _toml_line(text: str, loc: Loc) -> int | None:
    lines = text.splitlines()
    start, table, line = 0, "", None
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            i += 1
            continue
        name = f"{table}.{part}" if table else str(part)
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        header = re.compile(r"^\s*\[\[\s*" + re.escape(name) + r"\s*\]\]" if isinstance(nxt, int) else r"^\s*\[\s*" + re.escape(name) + r"\s*\]")
        hits = [n for n in range(start, len(lines)) if header.match(lines[n])]
        idx = nxt if isinstance(nxt, int) else 0
        if len(hits) > idx:
            start, table, line = hits[idx] + 1, name, hits[idx] + 1
            i += 2 if isinstance(nxt, int) else 1
            continue
        key = re.compile(r"(^|[\s{,.])" + re.escape(str(part)) + r"\s*=")
        found = next((n for n in range(start, len(lines)) if key.search(lines[n])), None)
        if found is None:
            return line
        start, line = found, found + 1
        i += 1
    return line
