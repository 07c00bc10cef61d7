"""What a page of the SSO says, read without relying on its wording: does it ask for something?

RFC 6749 section 4.1.2.1: an authorization request the SSO refuses because of the client id or
the redirect URI must not be redirected back; the SSO informs the person instead, on a page of
its own, answered with a 4xx or (many SSOs, IdentityServer among them) a 200 after a redirect to
an error page. A page that lets the supervisor sign in asks for something: a form with a field to
fill in. A page that asks for nothing, on the way of an authorization request, is the SSO saying
no. The page's visible text is kept (printable, bounded) to be quoted to the person.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from html.parser import HTMLParser

from ..errors import printable

MAX_QUOTED = 300
# Inputs a person fills in to sign in (or to choose an account); hidden fields and buttons ask nothing.
ASKING_INPUTS = frozenset({"text", "email", "password", "tel", "number", ""})
SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "title"})


MIN_TEXT = 40  # a page with scripts and less visible text than this is built by script: not read


@dataclass(frozen=True)
class SsoPage:
    """``asks_for_input``: the page has a form field a person types into. ``text``: its visible
    text, whitespace folded, printable, at most MAX_QUOTED characters. ``built_by_script``: it has
    scripts and hardly any text (a "Loading..." shell): what it will show cannot be read from it."""

    asks_for_input: bool
    text: str
    built_by_script: bool = False


def read_sso_page(html: str) -> SsoPage:
    """Read an HTML page of the SSO (any HTML; never raises)."""
    reader = _Reader()
    with contextlib.suppress(Exception):  # html.parser is lenient; what it cannot read asks for nothing
        reader.feed(html[:500_000])
        reader.close()
    text = printable(" ".join(" ".join(reader.text).split()), MAX_QUOTED)
    return SsoPage(reader.asks, text, built_by_script=reader.scripts and not reader.asks and len(text) < MIN_TEXT)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.asks = False
        self.scripts = False
        self.text: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skipping += 1
        if tag == "script":
            self.scripts = True
        kind = (dict(attrs).get("type") or "").lower()
        if tag == "textarea" or tag == "select" or (tag == "input" and kind in ASKING_INPUTS):
            self.asks = True

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.text.append(data)
