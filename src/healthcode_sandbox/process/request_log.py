"""Request logging that cannot leak secrets.

Werkzeug logs each request line, query string included: ``/authorize?...`` and a client's
redirect carry state, PKCE challenges and sometimes codes. The sandbox logs method, path and
status only, to the ``healthcode_sandbox.http`` logger (silent unless the CLI turns it on), and
strips query strings from werkzeug's own error lines (e.g. a malformed request line).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("healthcode_sandbox.http")

_QUERY = re.compile(r"\?[^\s'\"]*")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def redact_query(text: str) -> str:
    """Replace every ``?query`` in ``text`` with ``?...``."""
    return _QUERY.sub("?...", text)


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler with query-free request logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", None)
        shown = urlsplit(path).path if path else "-"
        log.info("%s %s %s %s", self.address_string(), getattr(self, "command", "-"), shown, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        text = message % args if args else message
        log.log(_LEVELS.get(type, logging.INFO), "%s %s", self.address_string(), redact_query(text))
