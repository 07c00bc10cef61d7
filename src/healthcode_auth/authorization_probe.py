"""Does the SSO accept this registration's authorization request? Asked without signing in.

``healthcode-auth check`` sends the authorization request a sign-in would send (a fresh state
and PKCE challenge; nothing of it is ever redeemed), follows the SSO's own redirects, and reads
where it ends, without relying on the SSO's wording or status codes:

- a redirect to the redirect URI with ``error``: refused, with the SSO's OAuth error;
- a redirect to the redirect URI with a code: accepted (the SSO approved at once; the code is
  left unused);
- a page of the SSO that asks for input (a sign-in form): accepted, a supervisor can sign in;
- a page of the SSO that asks for nothing (an error page, answered 4xx, or 200 after a redirect)
  where the SSO also ends for a client id it cannot know (a control request): refused, quoting
  what it says; the client id or the redirect URI is not registered as given. A page that asks
  for nothing elsewhere (a page of identity-provider buttons, say): not known from here;
- a redirect to another site (a federated identity provider), an SSO failing or busy (5xx, 429),
  or a page its scripts build (a "Loading..." shell): not known from here.

It cannot check the client secret (only a code exchange shows it), nor whether a supervisor's
account may authorise this client (only a sign-in shows it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from .client import HealthcodeAuthClient
from .errors import printable
from .protocol.authorization_request import is_redirect_uri
from .protocol.sso_page import SsoPage, read_sso_page
from .protocol.urls import origin_of, split_url, without_queries

MAX_HOPS = 8
ACCEPTED, REFUSED, UNKNOWN = "accepted", "refused", "unknown"


@dataclass(frozen=True)
class ProbeResult:
    """``verdict`` is ACCEPTED, REFUSED or UNKNOWN; ``detail`` says why, for people (no query)."""

    verdict: str
    detail: str


@dataclass(frozen=True)
class _Ending:
    """Where the request ended: back at the redirect URI, somewhere else, or on an SSO page."""

    url: str
    status: int = 0
    page: SsoPage | None = None
    elsewhere: bool = False


def probe_authorization(client: HealthcodeAuthClient) -> ProbeResult:
    """Ask the authorization endpoint what it makes of this client id and redirect URI."""
    request = client.start_sign_in()
    own = {origin_of(request.url), origin_of(client.metadata.issuer)}
    ending = _follow(client, request.url, own, request.redirect_uri)
    if ending is None:
        return ProbeResult(UNKNOWN, f"the SSO redirected more than {MAX_HOPS} times without settling")
    if ending.elsewhere:
        return ProbeResult(
            UNKNOWN,
            f"the SSO passes the sign-in on to {without_queries(origin_of(ending.url))}; "
            "what that site makes of the request shows only in a real sign-in",
        )
    if ending.page is None:
        return _back_at_the_redirect_uri(ending.url)
    if ending.status == 200 and ending.page.asks_for_input:
        return ProbeResult(ACCEPTED, "the SSO shows its sign-in page for this client id and redirect URI")
    if ending.status >= 500 or ending.status == 429:
        return ProbeResult(
            UNKNOWN,
            f"the SSO answered HTTP {ending.status}: it is failing or busy for now, so "
            "whether it accepts the request cannot be told; try again later",
        )
    if ending.page.built_by_script:
        return ProbeResult(
            UNKNOWN,
            "the SSO answered with a page its scripts build in the browser; what it "
            "will show cannot be read without one",
        )
    said = f': "{ending.page.text}"' if ending.page.text else ""
    # A page that asks for nothing is the SSO's refusal, or a sign-in page of buttons and links
    # only (identity providers to choose from). The SSO's answer to a client id it cannot know
    # tells which: the same status at the same place is its refusal.
    control = _follow(
        client, _with_client_id(request.url, f"healthcode-auth-check-{secrets.token_hex(6)}"), own, request.redirect_uri
    )
    if (
        control is not None
        and control.page is not None
        and not control.page.asks_for_input
        and (control.status, _path(control.url)) == (ending.status, _path(ending.url))
    ):
        return ProbeResult(
            REFUSED,
            f"the SSO answered with a page that asks for nothing (HTTP {ending.status}), "
            f"as it answers a client id it does not know{said}",
        )
    return ProbeResult(
        UNKNOWN,
        f"the SSO answered with a page that asks for nothing (HTTP {ending.status}), but "
        f"not the one it shows for a client id it does not know{said}; a real sign-in "
        "shows whether it can go ahead",
    )


def _follow(client: HealthcodeAuthClient, url: str, own: set[str], redirect_uri: str) -> _Ending | None:
    """GET ``url`` and the SSO's own redirects after it, up to where it settles (None: it did not)."""
    for _ in range(MAX_HOPS):
        response = client.transport.get(url, "authorization endpoint", accept="text/html")
        location = response.headers.get("location")
        if 300 <= response.status_code < 400 and location:
            url = urljoin(url, location)
            if is_redirect_uri(url, redirect_uri):
                return _Ending(url)
            if origin_of(url) not in own:
                return _Ending(url, elsewhere=True)
            continue
        return _Ending(url, response.status_code, read_sso_page(response.body.decode("utf-8", "replace")))
    return None


def _with_client_id(url: str, client_id: str) -> str:
    parts = urlsplit(url)
    query = [(name, client_id if name == "client_id" else value) for name, value in parse_qsl(parts.query)]
    return parts._replace(query=urlencode(query)).geturl()


def _path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or "/"


def _back_at_the_redirect_uri(url: str) -> ProbeResult:
    parts = split_url(url)
    params = dict(parse_qsl(parts.query if parts else "", keep_blank_values=True))
    if "error" in params:
        described = printable(params.get("error_description", ""), 200)
        return ProbeResult(
            REFUSED,
            f"the SSO sent the request back with the error "
            f"'{printable(params['error'], 64)}'" + (f': "{described}"' if described else ""),
        )
    return ProbeResult(
        ACCEPTED,
        "the SSO approved the request at once (a supervisor it remembers); the code it issued was not redeemed",
    )
