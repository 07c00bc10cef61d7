"""The SSO's page as the browser shows it once settled, and the two things the sign-in reads in it.

``redirect_capture.js``'s ``healthcodeSettledPage`` hands over the page once its scripts ran (a
sign-in page built by script has its fields by then): whether it is a document of the SSO, which
document it is, whether it settled, and its HTML. ``healthcode_auth.protocol.sso_page`` reads
the HTML's structure, never its wording: does the page ask for input?

1. **A refusal** (:func:`refusal`). RFC 6749 4.1.2.1: a request whose client id or redirect URI
   the SSO does not accept is never redirected back; the SSO shows a page of its own instead,
   answered with a 4xx or (IdentityServer and others) with a 200 after a redirect to its error
   page. Neither its wording nor its status tells it apart from a sign-in page in general. Two
   independent readings of the page's structure do, and both must agree: the core's probe
   (``healthcode_auth.authorization_probe``, the rule ``healthcode-auth check`` uses: the same
   request, sent without the browser, ending on a page that asks for nothing), and the browser's
   own page, still a document of the SSO and asking for nothing either.
2. **A form nobody can fill in** (:class:`FormWatch`). In a headless browser the library opened
   itself nobody sees the page, and a suite cannot act while it waits: a sign-in completes there
   only when the SSO redirects on its own (it remembers the supervisor). When the page shows the
   SSO's form instead (a document of the SSO that asks for input), nobody will ever fill it in.
   Only settled readings count, and the same document must still ask a moment later: a page
   whose form is built late by script, or that is leaving (a form just submitted, a remembered
   supervisor sent on by script), is never judged early.

Anything not known (the page moved on, could not be read) counts as neither, and the wait goes
on as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from healthcode_auth.authorization_probe import REFUSED, ProbeResult
from healthcode_auth.protocol.sso_page import SsoPage, read_sso_page
from healthcode_auth.protocol.urls import without_queries

# How long the page may take to settle (load, then no network for 0.5 s) before a refusal is read.
SETTLE_MS = 5000
# While a headless page is waited on it is read at every poll, each wait this short: a page that
# has not settled yet is read again at the next poll.
POLL_SETTLE_MS = 500
# How long the same document must go on asking for input before nobody can fill it is clear.
STILL_ASKING_SECONDS = 1.0


@dataclass(frozen=True)
class SettledPage:
    """One reading of the page: ``on_sso`` (a document of the SSO, the redirect not caught),
    ``settled`` (see ``healthcodeSettledPage``), ``document`` (which of the page's documents) and
    what its structure says (``content``)."""

    on_sso: bool
    settled: bool
    document: int
    content: SsoPage


NOT_KNOWN = SettledPage(on_sso=False, settled=False, document=-1, content=SsoPage(asks_for_input=False, text=""))


def read_settled_page(browser: Any, state: str, settle_ms: int) -> SettledPage:
    """Ask the extension for the page of the sign-in ``state``, waiting up to ``settle_ms`` (twice:
    load, then network idle) for it to settle."""
    seen = browser.call_js_keyword("healthcodeSettledPage", state=state, settleMs=settle_ms)
    if not isinstance(seen, dict):
        return NOT_KNOWN
    document = seen.get("document")
    return SettledPage(
        on_sso=seen.get("onSso") is True,
        settled=seen.get("settled") is True,
        document=document if type(document) is int else -1,
        content=read_sso_page(str(seen.get("html") or "")),
    )


def refusal(verdict: ProbeResult | None, page: SettledPage) -> str | None:
    """What the SSO's page says when both readings agree that it refused the request; else None."""
    if verdict is None or verdict.verdict != REFUSED or not page.on_sso or page.content.asks_for_input:
        return None
    return without_queries(page.content.text) or without_queries(verdict.detail)


class FormWatch:
    """Watches one sign-in's headless page: says when it shows a form of the SSO for good."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first: tuple[int, float] | None = None  # the document that asked, and since when

    def nobody_can_fill(self, page: SettledPage) -> bool:
        """True once the same settled document of the SSO has asked for input for
        ``STILL_ASKING_SECONDS`` (two readings at least that far apart)."""
        if not (page.settled and page.on_sso and page.content.asks_for_input):
            self._first = None
            return False
        now = self._clock()
        if self._first is None or self._first[0] != page.document:
            self._first = (page.document, now)
            return False
        return now - self._first[1] >= STILL_ASKING_SECONDS
