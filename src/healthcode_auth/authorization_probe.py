"""Floor 5: does the SSO accept this registration's authorization request? Asked without signing in.

``healthcode-auth check`` sends the authorization request a sign-in would send (a fresh state
and PKCE challenge; nothing of it is ever redeemed), follows the SSO's own redirects, and reads
where it ends, without relying on the SSO's wording or status codes:

- a redirect to the redirect URI with ``error``: refused, with the SSO's OAuth error;
- a redirect to the redirect URI with a code: accepted (the SSO approved at once; the code is
  left unused);
- a page of the SSO that asks for input (a sign-in form): accepted, a supervisor can sign in;
- a page of the SSO that asks for nothing (an error page, answered 4xx, or 200 after a redirect):
  refused, quoting what it says; the client id or the redirect URI is not registered as given;
- a redirect to another site (a federated identity provider): not known from here.

It cannot check the client secret (only a code exchange shows it), nor whether a supervisor's
account may authorise this client (only a sign-in shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin

from .client import HealthcodeAuthClient
from .errors import printable
from .protocol.authorization_request import is_redirect_uri
from .protocol.sso_page import read_sso_page
from .protocol.urls import origin_of, split_url, without_queries

MAX_HOPS = 8
ACCEPTED, REFUSED, UNKNOWN = "accepted", "refused", "unknown"


@dataclass(frozen=True)
class ProbeResult:
    """``verdict`` is ACCEPTED, REFUSED or UNKNOWN; ``detail`` says why, for people (no query)."""

    verdict: str
    detail: str


def probe_authorization(client: HealthcodeAuthClient) -> ProbeResult:
    """Ask the authorization endpoint what it makes of this client id and redirect URI."""
    request = client.start_sign_in()
    own = {origin_of(request.url), origin_of(client.metadata.issuer)}
    url = request.url
    for _ in range(MAX_HOPS):
        response = client.transport.get(url, "authorization endpoint", accept="text/html")
        location = response.headers.get("location")
        if 300 <= response.status_code < 400 and location:
            url = urljoin(url, location)
            if is_redirect_uri(url, request.redirect_uri):
                return _back_at_the_redirect_uri(url)
            if origin_of(url) not in own:
                return ProbeResult(UNKNOWN, f"the SSO passes the sign-in on to {without_queries(origin_of(url))}; "
                                            "what that site makes of the request shows only in a real sign-in")
            continue
        page = read_sso_page(response.body.decode("utf-8", "replace"))
        said = f": \"{page.text}\"" if page.text else ""
        if response.status_code == 200 and page.asks_for_input:
            return ProbeResult(ACCEPTED, "the SSO shows its sign-in page for this client id and redirect URI")
        return ProbeResult(REFUSED, f"the SSO answered with a page that asks for nothing (HTTP "
                                    f"{response.status_code}){said}")
    return ProbeResult(UNKNOWN, f"the SSO redirected more than {MAX_HOPS} times without settling")


def _back_at_the_redirect_uri(url: str) -> ProbeResult:
    parts = split_url(url)
    params = dict(parse_qsl(parts.query if parts else "", keep_blank_values=True))
    if "error" in params:
        described = printable(params.get("error_description", ""), 200)
        return ProbeResult(REFUSED, f"the SSO sent the request back with the error "
                                    f"'{printable(params['error'], 64)}'" + (f": \"{described}\"" if described else ""))
    return ProbeResult(ACCEPTED, "the SSO approved the request at once (a supervisor it remembers); the code it "
                                 "issued was not redeemed")
