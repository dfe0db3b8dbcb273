"""How every humansync console script ends on a bad input: one line on stderr that names the file and
the field, exit status 2 (as for a bad option), no traceback.

Expected input errors are
- errors of humansync's own types: every class defined in `humansync_ns` that the loaders and
  checks raise (`MotionFormatError`, `CalibrationFormatError`, `TransformsFormatError`,
  `ProcessError`, `SynthConfigError`, `UsageError`, ...; all are `ValueError`s), whose messages
  name the file and the field;
- an `OSError` that names its file (missing, unreadable, a folder where a file is expected).

Anything else, including a plain `ValueError` from numpy or PIL, is a bug or an input humansync does
not check yet: it keeps its traceback, so that it gets reported and a check added where it arises.
"""

from __future__ import annotations

import sys
from typing import Any

import tyro

EXIT_STATUS = 2
"""argparse's (and tyro's) status for a command line it cannot use."""


class UsageError(ValueError):
    """An option value the command cannot use (out of range, meant for another mode, ...)."""


def is_input_error(error: BaseException) -> bool:
    """Whether `error` is an expected input error (module docstring) rather than a bug."""
    if isinstance(error, OSError):
        return error.filename is not None
    return type(error).__module__.split(".")[0] == "humansync_ns"


def one_line(error: BaseException) -> str:
    """The error's message on one line; an `OSError` as `file: reason`."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error)
    return " ".join(text.split())


def run_cli(prog: str, command: Any) -> Any:
    """Parses the command line into `command` (a tyro dataclass or union of them) and runs its
    `main()`; an expected input error, raised while parsing or running, exits with one line."""
    try:
        return tyro.cli(command).main()
    except Exception as error:
        if not is_input_error(error):
            raise
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(EXIT_STATUS) from error
