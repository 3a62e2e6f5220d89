"""borderwatch: verifiable border-crossing counts from surveillance footage."""

# The one place the version is written; pyproject.toml reads it from here.
__version__ = "0.1.0"

__all__ = ["__version__"]
