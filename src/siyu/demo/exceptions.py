"""Errors of the demo data set."""

from siyu.exceptions import SiyuError


class DemoError(SiyuError):
    """The demo was asked for with arguments it cannot use."""
