"""One exception hierarchy for the whole project.

Every error a user can cause derives from :class:`BorderwatchError` *and* the matching
builtin, so callers may catch either. Third-party errors (PyAV, OpenCV, pydantic) are
translated into these at the edge of the stage that called them; the CLI prints
``str(error)`` as one line and exits with :attr:`exit_code`.
"""

from __future__ import annotations


class BorderwatchError(Exception):
    """Base of every error borderwatch raises on purpose."""

    exit_code = 2


class SourceNotFound(BorderwatchError, FileNotFoundError):
    """The source path does not exist."""


class SourceUnreadable(BorderwatchError, ValueError):
    """The source exists but is not a video / image sequence we can decode."""


class EmptySource(BorderwatchError, ValueError):
    """The source decoded to zero frames."""


class ConfigError(BorderwatchError, ValueError):
    """A line, option or config file is invalid."""


class LineOutsideFrame(ConfigError):
    """A border line lies (partly) outside the image."""


class OutputError(BorderwatchError, OSError):
    """The output directory cannot be written."""


class DetectorError(BorderwatchError, RuntimeError):
    """The optional object detector could not be loaded or run."""


class TruthError(BorderwatchError, ValueError):
    """A ground-truth or prediction file is malformed."""


# Exit status for a scan that completed but could not decode every part of the source.
EXIT_PARTIAL = 3
