"""The root of every error siyu raises on purpose.

Each package adds its own subclasses in its `exceptions.py`. Errors a user can cause say
what was wrong and how to fix it; only `siyu.api` maps them to HTTP statuses.
"""


class SiyuError(Exception):
    """Base class for errors raised by siyu."""


class ConfigError(SiyuError):
    """The configuration (environment, files, arguments) is not usable."""
