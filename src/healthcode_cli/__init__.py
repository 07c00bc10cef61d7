"""``healthcode-auth``: the command line, a front end above the core and the keyword library."""

from .commands import main

__all__ = ["main"]
