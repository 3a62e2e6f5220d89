"""Command-line interface: one subcommand per job.

Each job lives in its own module and registers itself on :data:`app`. Errors derived
from :class:`~borderwatch.errors.BorderwatchError` are printed as one line and exit
non-zero; nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import sys

import typer

from ..errors import BorderwatchError
from .runtime import activate, before_exit, loading_modules

app = typer.Typer(
    name="borderwatch",
    help="Verifiable border-crossing counts from surveillance footage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"borderwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Verifiable border-crossing counts from surveillance footage."""


def _register() -> None:
    # Imported here so that each module can import `app` from this package.
    from . import coverage, demo, eval as eval_cmd, ledger, scan, stats, synth, timelapse  # noqa: F401
    from . import config_cmd  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Run one command line (``argv``, default ``sys.argv[1:]``); return the exit status."""
    with loading_modules():
        _register()
    try:
        # Typer handles usage errors itself (one message, exit 2) and raises SystemExit.
        app(args=argv)
    except BorderwatchError as exc:
        print(f"borderwatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("borderwatch: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        code = exc.code
        if code == 130:  # Typer turns Ctrl-C inside a command into a silent exit 130
            print("borderwatch: interrupted", file=sys.stderr)
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def run() -> None:
    """Entry point of the ``borderwatch`` console script: :func:`main` with the
    process-level settings of :mod:`borderwatch.cli.runtime`."""
    activate()
    code = main()
    before_exit()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
