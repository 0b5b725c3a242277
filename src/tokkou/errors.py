"""Every error a user can cause, in one place. Each message is one Japanese line for the user.

The command line turns a `UserError` into that line and exit status 2; the Excel functions turn a
`UdfError` into #VALUE! with the line. Nothing here imports another tokkou module.
"""
from __future__ import annotations


class UserError(Exception):
    """Base: something the user can fix (a file, an argument, a rulebook); never a traceback."""


class InputError(UserError):
    """A file or argument that cannot be used (input table, output place, command-line value)."""


class TableNotFound(InputError):
    """No header row in any sheet of an input table (names the sheets looked at and the headers expected)."""


class RulebookError(UserError):
    """A rulebook that cannot be used; the message names file, key path and value."""


class FiscalIndexError(UserError, ValueError):
    """Inputs that cannot give a 財政力指数."""


def __getattr__(name: str):
    # UdfError must derive from xlwings' XlwingsError (xlwings shows only those messages in a cell),
    # but importing xlwings costs about a second: build the class on first use only.
    if name == "UdfError":
        from xlwings import XlwingsError

        cls = type("UdfError", (XlwingsError, UserError),
                   {"__doc__": "A bad Excel function argument: #VALUE! with this message.", "__module__": __name__})
        globals()["UdfError"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["UserError", "InputError", "TableNotFound", "RulebookError", "FiscalIndexError", "UdfError"]
