"""A listener that says which extra to install when a suite imports a library this package's extras
bring and it is not installed.

Robot Framework reports a failed import as a raw ``ModuleNotFoundError`` with a traceback and a
dump of the module search path. When the missing library is one of ours to recommend (RequestsLibrary
comes with the ``requests`` extra), the message says so first, as ``healthcode-auth sandbox``
already does for the sandbox. Robot hands import errors to the listeners of libraries imported
before the failing one, so the hint appears in suites that import HealthcodeLibrary first (as the
starter suites do).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot import result

# The library a suite names -> the extra that installs it.
EXTRAS = {"RequestsLibrary": "requests", "Browser": "batteries"}
_FAILED_IMPORT = re.compile(r"Importing library '([\w.]+)' failed: ModuleNotFoundError")


class ImportHints:
    ROBOT_LISTENER_API_VERSION = 3

    def message(self, msg: result.Message) -> None:
        found = _FAILED_IMPORT.search(msg.message)
        if found is None or found.group(1) not in EXTRAS:
            return
        library, extra = found.group(1), EXTRAS[found.group(1)]
        first_line = msg.message.splitlines()[0]
        msg.message = (
            f"{first_line}: {library} is not installed. It comes with robotframework-healthcode's "
            f"'{extra}' extra: pip install \"robotframework-healthcode[{extra}]\" (in the virtual "
            "environment that runs robot), then run the suite again."
        )
