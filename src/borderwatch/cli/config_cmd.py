"""`borderwatch config validate`: check a scan config file before a long scan."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..config import config_file_problems
from ..errors import ConfigError
from . import app

config_app = typer.Typer(
    name="config",
    help="Check scan config files (TOML or YAML). Settings: docs/config.md.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(config_app, name="config")

_EPILOG = """
Examples:

  borderwatch config validate lines.toml

  borderwatch config validate site.yaml --json > site.resolved.json

Prints "ok: N lines (names)" and exits 0, or every problem as FILE:LINE: key: message and exits 2.

Unknown keys are errors, so a misspelt setting is never silently ignored.
"""


@config_app.command(epilog=_EPILOG)
def validate(
    file: Path = typer.Argument(..., help="Config file (.toml, .yaml or .yml)."),
    as_json: bool = typer.Option(False, "--json", help="Print the validated config, defaults filled in, as JSON."),
) -> None:
    """Validate a scan config file: unknown keys, bad values and malformed syntax, with line numbers."""
    cfg, problems = config_file_problems(file)
    if cfg is None:
        # Every problem but the last on its own line; the last goes through the CLI's
        # one-line error path so the exit status and prefix match other commands.
        for problem in problems[:-1]:
            print(f"borderwatch: error: {problem}", file=sys.stderr)
        raise ConfigError(problems[-1])
    if as_json:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return
    names = ", ".join(ln.name for ln in cfg.lines)
    n = len(cfg.lines)
    print(f"ok: {n} line{'s' if n != 1 else ''} ({names})")
