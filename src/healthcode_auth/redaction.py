"""Floor 1: keeping secrets out of logs and out of child processes.

The core never logs a secret itself. But HTTP libraries log at DEBUG, and Robot Framework copies
Python logging into log.html, so every secret the core learns (client secret, code verifier,
code, tokens) is registered in :data:`REDACTOR` and masked in the records of the loggers that
could carry it; the keyword library's output scrubber uses the same set.

Child processes (the browser automation's node process, the browsers it launches) inherit the
environment: :func:`environment_without_secrets` is what they get instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

MASK = "<secret>"
# Loggers of the libraries that see requests to the SSO and to Healthcode's APIs. A filter on a
# logger does not apply to its children's records, so the loggers are named one by one.
GUARDED_LOGGERS = (
    "httpx", "httpcore.connection", "httpcore.connection_pool", "httpcore.http11", "httpcore.http2",
    "httpcore.proxy", "httpcore.socks", "urllib3.connectionpool", "urllib3.connection", "urllib3.response",
    "requests_oauthlib.oauth2_session", "requests_oauthlib.oauth2_auth", "oauthlib.oauth2.rfc6749.parameters",
    "oauthlib.oauth2.rfc6749.clients.base", "hpack.hpack",
)
MIN_SECRET_LENGTH = 8
# Environment variables that may carry a secret: never handed to a child process.
SECRET_VARIABLES = ("HEALTHCODE_CLIENT_SECRET", "HEALTHCODE_CACHE_KEY", "HEALTHCODE_TOKEN_CACHE")


class SecretRedactor(logging.Filter):
    """A logging filter that replaces every registered secret with ``<secret>``."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._installed_on: tuple[logging.Handler, ...] | None = None

    def add(self, *secrets: str | None) -> None:
        """Register secrets; short or empty values are ignored (they would mask ordinary text)."""
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        if fresh - self._secrets:
            with self._lock:
                self._secrets = self._secrets | fresh

    @property
    def secrets(self) -> frozenset[str]:
        """Every registered secret: an immutable snapshot, cheap enough to read for every log message."""
        return self._secrets

    def redact(self, text: str) -> str:
        return mask_secrets(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is not ours to fix; drop it rather than leak
                return False
            record.msg, record.args = self.redact(message), None
        return True

    def install(self) -> None:
        """Attach to the guarded loggers and to the root logger's handlers (idempotent).

        The root handlers include Robot Framework's, which copies records into log.html; a filter
        there also covers loggers not named above.
        """
        handlers = tuple(logging.getLogger().handlers)
        if handlers == self._installed_on:
            return  # the common case, on every keyword call: nothing changed since last time
        targets: list[logging.Filterer] = [logging.getLogger(name) for name in GUARDED_LOGGERS]
        targets.extend(handlers)
        for target in targets:
            if self not in target.filters:
                target.addFilter(self)
        self._installed_on = handlers


def mask_secrets(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """``text`` with every occurrence of each secret replaced by ``mask`` (the same object when
    none occurs): the one masking rule of the log filter and of the output scrubber."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask)
    return text


REDACTOR = SecretRedactor()


class MaskedHeaderValue(str):
    """A header value sent in full but shown as ``'Bearer <secret>'`` wherever it is logged.

    HTTP client libraries write the real string to the socket, while libraries that log a
    request's headers (RequestsLibrary logs them at INFO) print the dictionary, that is ``repr()``
    of each value, and get the mask.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        scheme = self.split(" ", 1)[0] if " " in self else ""
        return repr(f"{scheme} {MASK}".strip())


def environment_without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` for a child process: without the variables that may hold a secret."""
    return {name: value for name, value in environ.items() if name not in SECRET_VARIABLES}
