"""`borderwatch coverage`: what a scan could see, and what its silence does and does not mean."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import OutputError
from . import app

_HELP = """Account for the coverage of a scan: observable and impaired time, and a statement per line.

Reads a scan output folder (summary.json and its "coverage" block, coverage.jsonl, crossings.jsonl), prints the span, the observable time, the impaired time by cause and its intervals, the crossings per line, and for each line either a statement of absence scoped to the observable time ("No crossings detected on line L during 2 h 10 min of observable time between T0 and T1; impaired: ...") or its crossings, flagging those that fell in impaired time. Absence is never claimed over impaired or unrecorded time, a partial or interrupted scan says so, and a scan without coverage data gets no statement of absence.

It also draws a timeline PNG (default DIR/coverage.png).

[bold]Example[/bold]

  borderwatch scan gate.mp4 --line "0,0.5 1,0.5" --out runs/gate
  borderwatch coverage runs/gate
  borderwatch coverage runs/gate --line border --png gate.png
  borderwatch coverage runs/gate --json --no-png > coverage.json
"""

_STYLES = {"title": "bold", "heading": "bold underline", "note": "yellow", "statement": "bold cyan"}


@app.command("coverage", help=_HELP, no_args_is_help=True)
def coverage_command(
    scan_dir: Annotated[Path, typer.Argument(metavar="DIR", help="Scan output folder.", show_default=False)],
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Where to write the timeline PNG (default: DIR/coverage.png).", show_default=False),
    ] = None,
    no_png: Annotated[
        bool, typer.Option("--no-png", help="Do not draw the timeline (e.g. for a read-only folder).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the account and statements as JSON instead of text.")
    ] = False,
    line: Annotated[
        str | None, typer.Option("--line", "-l", help="Only this line's crossings and statement.", show_default=False)
    ] = None,
) -> None:
    # Imported here so that `borderwatch --help` does not pay for them (matplotlib is
    # imported only inside render_png).
    from ..coverage.report import load_account, render_png, statements, text_lines, to_dict

    account = load_account(scan_dir)
    if line is not None:
        account = account.for_line(line)
    stmts = statements(account)
    written: Path | None = None
    if not no_png:
        try:
            written = render_png(account, png if png is not None else scan_dir / "coverage.png")
        except OutputError as exc:
            if png is not None:
                raise
            raise OutputError(f"{exc} (use --png PATH or --no-png)") from None
    if as_json:
        data = to_dict(account, stmts)
        data["png"] = None if written is None else str(written)
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    lines = text_lines(account, stmts)
    if written is not None:
        lines += [("", ""), ("", f"timeline: {written}")]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.padding import Padding
        from rich.text import Text

        con = Console(highlight=False)
        for style, text in lines:
            body = Text(text.lstrip(), style=_STYLES.get(style, ""))
            if style in ("statement", "note"):  # sentences wrap, indented, at the terminal's width
                con.print(Padding(body, (0, 0, 0, len(text) - len(text.lstrip()))))
            else:  # table rows are never broken
                con.print(Text(text, style=_STYLES.get(style, "")), soft_wrap=True)
    else:
        sys.stdout.write("\n".join(text for _style, text in lines) + "\n")
