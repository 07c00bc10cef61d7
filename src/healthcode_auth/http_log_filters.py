"""Log records of the HTTP libraries, cut down to what cannot hold patient data or a secret.

httpx logs every request at INFO with its URL (an id in the path, a patient's name in the query)
and the server's reason phrase; httpcore logs each step at DEBUG with its arguments (headers, a
``Location``); urllib3, under requests, logs each request line at DEBUG. :func:`install_log_filters`
puts one filter on their loggers: URLs keep their origin only, request lines lose their path,
httpcore's records keep the step's name. The filter is process-wide: it applies to the suite's own
requests too (docs/api-calls.md).
"""

from __future__ import annotations

import logging
import re

# A URL in a log record of httpx's: its origin only (no user information, and no path, query or
# fragment up to white space or '"': an id, a patient's details; httpx leaves "'" unencoded).
_LOGGED_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#\"@]*@)?([^\s/?#\"'<>@]*)[^\s\"]*")
_HTTPX_REQUEST = 'HTTP Request: %s %s "%s %d %s"'  # httpx's INFO line: method, URL, version, status, reason
_PATH = re.compile(r"(?<![\w/.:])/[^\s\"]*")  # a path (and query) standing alone, as urllib3 logs it
URLLIB3_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.util.retry",
    "urllib3.poolmanager",
    "urllib3.response",
    "requests_oauthlib.oauth2_session",
)
_WORDS = re.compile(r"(?:[A-Za-z]+ +)*[A-Za-z]+(?= |$)")  # whole words only: never the start of a token
HTTPCORE_LOGGERS = (
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class _OnlyWhatIsSafe(logging.Filter):
    """httpx logs every request at INFO (``HTTP Request: GET https://host/api/member/ZZ9876543?...``):
    the URL keeps its origin only. httpcore logs each step at DEBUG with its arguments (headers,
    ``Location`` included): the record keeps the step's name only (``receive_response_headers.complete``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix; drop it rather than leak
            return False
        if record.name.startswith("urllib3") and '"%s %s %s"' in str(record.msg):  # requests' request line
            message = _PATH.sub("/...", _origin_only(message))  # ("GET /api/member/ZZ9876543?..."): no path
        elif record.name.startswith(("urllib3", "requests_oauthlib")):  # warnings quoting a header, a status
            message = _fixed_words(message)  # line, a redirect's target, a request's headers and data
            record.exc_info = record.exc_text = None
        elif record.name.startswith("httpcore"):
            message = message.split(" ", 1)[0][:100]
        elif record.msg == _HTTPX_REQUEST and isinstance(record.args, tuple) and len(record.args) == 5:
            method, url, version, status, _ = record.args  # the reason phrase is the server's words: left out
            message = f'HTTP Request: {method} {_origin_only(str(url))} "{version} {status}"'
        else:
            message = _origin_only(message)
        record.msg, record.args = message, None
        return True


def _fixed_words(text: str) -> str:
    """A record's own words before the first value it quotes ("Failed to parse headers", "Retrying",
    "Redirecting", "Requesting url"): never the value."""
    words = _WORDS.match(text)
    return words.group(0)[:100] if words else "(a message of the HTTP client)"


def _origin_only(text: str) -> str:
    return _LOGGED_URL.sub(r"\1\2", text)


_LOG_FILTER = _OnlyWhatIsSafe()


def install_log_filters() -> None:
    """Put the filter on httpx's, httpcore's and urllib3's (requests') loggers (once): for every
    request made through them, by this library or the suite."""
    for name in ("httpx", *HTTPCORE_LOGGERS, *URLLIB3_LOGGERS):
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)
