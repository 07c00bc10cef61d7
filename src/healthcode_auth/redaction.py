"""Keeping secrets out of logs and out of child processes.

The core never logs a secret itself. But HTTP libraries log at DEBUG, and Robot Framework copies
Python logging into log.html, so every secret the core learns (client secret, code verifier,
code, tokens, the store's password) is registered in :data:`REDACTOR` and masked in the records of
the loggers that could carry it; the keyword library's output scrubber uses the same set.

A secret is masked in every spelling it can be written in (:func:`spellings`): as is,
percent-encoded in a URL, form-encoded, escaped in HTML, XML, JSON or a Python ``repr``; and a
client secret also inside the HTTP Basic header that carries it (:func:`basic_credentials`).

Child processes (the browser automation's node process, the browsers it launches) inherit the
environment: the variables that may hold a secret (:data:`SECRET_VARIABLES`) are kept out of it by
not being there when such a process starts (the keyword library's sign-in page sees to it), never
by passing a filtered copy through a call that some library logs.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus

MASK = "<secret>"
# Loggers of the libraries that see requests to the SSO and to Healthcode's APIs. A filter on a
# logger does not apply to its children's records, so the loggers are named one by one.
GUARDED_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "requests_oauthlib.oauth2_session",
    "requests_oauthlib.oauth2_auth",
    "oauthlib.oauth2.rfc6749.parameters",
    "oauthlib.oauth2.rfc6749.clients.base",
    "hpack.hpack",
    "apprise",
)
MIN_SECRET_LENGTH = 8
# Environment variables that may carry a secret: never handed to a child process.
SECRET_VARIABLES = (
    "HEALTHCODE_CLIENT_SECRET",
    "HEALTHCODE_CACHE_KEY",
    "HEALTHCODE_TOKEN_CACHE",
    "HEALTHCODE_NOTIFY",
    "HEALTHCODE_NOTIFY_ESCALATION",
)
# Characters that no spelling changes (RFC 3986 unreserved): a run of them is in every spelling.
_UNCHANGED_RUN = re.compile(r"[A-Za-z0-9_.~-]+")
MIN_PROBE_LENGTH = 6
_MARKUP = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTRIBUTE = (*_MARKUP, ('"', "&quot;"), ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#09;"))
# The secrets a scope (SecretRedactor.scope: a portal's request) registered, in this thread or task.
_SCOPE: ContextVar[set[str] | None] = ContextVar("healthcode_redaction_scope", default=None)


def spellings(secret: str) -> tuple[str, ...]:
    """Every way ``secret`` may be written, longest first: as is; percent-encoded (every reserved
    character, or all but ``/`` as in a path); form-encoded; HTML-escaped; XML-escaped as Robot
    Framework writes output.xml (text and attributes); JSON-escaped; in a Python ``repr`` (how Robot
    logs lists and dictionaries)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        _escape(secret, _MARKUP),
        _escape(secret, (*_MARKUP, ('"', "&quot;"), ("'", "&#x27;"))),
        _escape(secret, _ATTRIBUTE),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


def basic_credentials(user: str, secret: str) -> tuple[str, ...]:
    """The values (after ``Basic``) of an HTTP Basic header that carries ``user`` and ``secret``: each
    part form-encoded first, as RFC 6749 section 2.3.1 asks of a client, and as is (RFC 7617)."""
    pairs = dict.fromkeys((f"{quote_plus(user)}:{quote_plus(secret)}", f"{user}:{secret}"))
    return tuple(base64.b64encode(pair.encode("utf-8")).decode("ascii") for pair in pairs)


def _escape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for character, escaped in escapes:
        text = text.replace(character, escaped)
    return text


class KnownSecrets:
    """An immutable set of secrets, each with all its spellings, built to answer "none here" fast.

    Each secret is checked with one substring search in the common case, however many spellings it
    has: a run of at least :data:`MIN_PROBE_LENGTH` characters that every spelling shares (the
    *probe*) is looked for first, and the spellings only where it occurs. A secret with one spelling
    is its own probe; one whose spellings share no such run is checked spelling by spelling.
    """

    __slots__ = ("_checks", "_groups", "_spellings")

    def __init__(self, groups: Iterable[tuple[str, ...]] = ()) -> None:
        unique = {group: None for group in groups if group}
        # The longest spellings first: a secret inside a longer one would leave the rest showing.
        ordered = sorted(unique, key=lambda group: (-len(group[0]), group))
        self._groups = tuple(ordered)
        self._checks = tuple(check for group in ordered for check in _checks(group))
        self._spellings = tuple(
            sorted({form for group in ordered for form in group}, key=lambda form: (-len(form), form))
        )

    def adding(self, groups: Iterable[tuple[str, ...]]) -> KnownSecrets:
        """A new set with these secrets (each a tuple of spellings, longest first) added."""
        return KnownSecrets([*self._groups, *groups])

    def mask(self, text: str, mask: str = MASK) -> str:
        """``text`` with every spelling of every secret replaced by ``mask`` (the same object when
        none occurs)."""
        for probe, group in self._checks:
            if probe in text:
                for form in group:
                    if form in text:
                        text = text.replace(form, mask)
        return text

    def __iter__(self) -> Iterator[str]:
        """Every spelling of every secret, longest first."""
        return iter(self._spellings)

    def __len__(self) -> int:
        return len(self._spellings)

    def __bool__(self) -> bool:
        return bool(self._checks)

    def __contains__(self, text: object) -> bool:
        return text in self._spellings


def _checks(group: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(probe, the spellings to mask where it occurs) for one secret's spellings."""
    if len(group) > 1:
        probe = max(_UNCHANGED_RUN.findall(group[-1]), key=len, default="")  # from the least escaped
        if len(probe) >= MIN_PROBE_LENGTH and all(probe in form for form in group):
            return ((probe, group),)
    return tuple((form, (form,)) for form in group)


class SecretRedactor(logging.Filter):
    """A logging filter that replaces every registered secret, in every spelling, with ``<secret>``.

    A secret is registered for good, or, when added inside :meth:`scope` (a portal's request), for
    as long as some scope that added it lasts: a long-running server that sees a new sign-in with
    every anonymous visitor keeps only the secrets of the requests in progress (and its own)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._known = KnownSecrets()
        self._groups: dict[str, tuple[str, ...]] = {}  # each registered value: its spellings
        self._scoped: dict[str, int] = {}  # a value registered only by scopes: how many hold it
        self._installed_on: tuple[logging.Handler, ...] | None = None

    def add(self, *secrets: str | None) -> None:
        """Register secrets; short or empty values are ignored (they would mask ordinary text)."""
        self._hold({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, spellings)

    def add_basic_credentials(self, user: str, secret: str | None) -> None:
        """Register a secret that travels in an HTTP Basic header with ``user`` (a client id and its
        secret): the secret in every spelling, and the header's value in both of its encodings."""
        if not secret:
            return
        self.add(secret)
        self._hold(set(basic_credentials(user, secret)), lambda value: (value,))

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Within the block (in this thread or task), secrets added are registered until it ends,
        unless another scope or a registration for good holds them too."""
        held: set[str] = set()
        token = _SCOPE.set(held)
        try:
            yield
        finally:
            _SCOPE.reset(token)
            self._let_go(held)

    def _hold(self, names: set[str], spell: Callable[[str], tuple[str, ...]]) -> None:
        scope = _SCOPE.get()
        # Registered for good (the common case: every keyword call adds the same few) stays so: nothing
        # to do, and safe to tell without the lock. Anything else is decided under it.
        names = {name for name in names if name not in self._groups or name in self._scoped}
        if not names:
            return
        spelled = {name: spell(name) for name in names if name not in self._groups}  # outside the lock
        with self._lock:  # rebuilt from the latest set, so two threads adding at once both count
            added = {}
            for name in names:
                registered = name in self._groups
                if scope is None:
                    self._scoped.pop(name, None)  # for good from now on
                elif name in scope or (registered and name not in self._scoped):
                    continue  # this scope holds it already, or it is registered for good
                else:
                    scope.add(name)
                    self._scoped[name] = self._scoped.get(name, 0) + 1
                if not registered:  # new, or let go by another scope since it was spelled above
                    added[name] = spelled.get(name) or spell(name)
            if added:
                self._groups.update(added)
                self._known = self._known.adding(added.values())

    def _let_go(self, names: set[str]) -> None:
        with self._lock:
            gone = []
            for name in names:
                holders = self._scoped.get(name)
                if holders is None:
                    continue  # registered for good meanwhile
                if holders > 1:
                    self._scoped[name] = holders - 1
                else:
                    del self._scoped[name]
                    gone.append(name)
            if gone:
                for name in gone:
                    self._groups.pop(name, None)
                self._known = KnownSecrets(self._groups.values())

    @property
    def secrets(self) -> KnownSecrets:
        """Every registered secret in every spelling: an immutable snapshot, cheap enough to read for
        every log message."""
        return self._known

    def redact(self, text: str) -> str:
        return self._known.mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._known:
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


def mask_secrets(text: str, secrets: KnownSecrets | Iterable[str], mask: str = MASK) -> str:
    """``text`` with every occurrence of each secret replaced by ``mask`` (the same object when
    none occurs): the one masking rule of the log filter and of the output scrubber. ``secrets`` is
    a :class:`KnownSecrets` (every spelling) or plain strings (masked as given)."""
    if isinstance(secrets, KnownSecrets):
        return secrets.mask(text, mask)
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
