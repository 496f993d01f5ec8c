"""The installed distribution's version (single source: package.json)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyter_session_ext")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
