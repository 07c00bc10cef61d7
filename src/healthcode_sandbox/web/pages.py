"""The supervisor's HTML pages. Jinja autoescapes every value (the client id, the username and
error descriptions can all come from the request), and nothing here sets cookies.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Response, render_template, url_for

from ..oauth.models import PendingSignIn
from ..settings import Client

#: The Jinja templates of these pages; the Flask app is created with this template folder.
TEMPLATE_FOLDER = str(Path(__file__).with_name("templates"))

ERROR_ADVICE = (
    "The sandbox does not send you back to the app, because it cannot be sure where the request "
    "really came from. Tell whoever set up the bot: the client id and redirect URI must match the "
    "sandbox's registration exactly."
)
EXPIRED_ADVICE = "Go back to the app and start the sign-in again."


def sign_in(pending: PendingSignIn, client: Client, username: str = "", error: str = "", embed_url: str = "",
            ) -> Response:
    """The username and password form (status 200 also when it re-shows with an error); with
    ``embed_url``, a frame showing that URL too (the ``embed_url`` knob)."""
    return _page(
        "sign_in.html",
        title="Sign in",
        pending=pending,
        client=client,
        username=username,
        error=error,
        embed_url=embed_url,
    )


def one_time_code(pending: PendingSignIn, client: Client, username: str, error: str = "") -> Response:
    """The second step for accounts with MFA."""
    return _page(
        "one_time_code.html",
        title="One-time code",
        pending=pending,
        client=client,
        username=username,
        error=error,
    )


def error(status: int, error_code: str, description: str, advice: str = ERROR_ADVICE) -> Response:
    """A request the sandbox refuses without redirecting (unknown client, bad redirect URI...)."""
    html = render_template(
        "error.html", title="Sign-in error", error=error_code, description=description, advice=advice
    )
    return Response(html, status=status, headers=_NO_STORE, mimetype="text/html")


def redirect_by_script(location: str) -> Response:
    """A page whose script sends the browser to ``location`` (the ``approve_by_script`` knob)."""
    target = json.dumps(location).replace("</", "<\\/")  # a string literal that cannot end the script
    html = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in</title></head>"
            f"<body><p>Signing you in...</p><script>location.replace({target});</script></body></html>")
    return Response(html, status=200, headers=_NO_STORE, mimetype="text/html")


def _page(template: str, *, title: str, pending: PendingSignIn, client: Client, **values: str) -> Response:
    html = render_template(
        template,
        title=title,
        action=url_for("signin.submit"),
        request_id=pending.request_id,
        client_id=client.client_id,
        client_name=client.name,
        scope=pending.params.get("scope", ""),
        **values,
    )
    return Response(html, status=200, headers=_NO_STORE, mimetype="text/html")


# Sign-in pages hold a one-time request id; they must not be cached or shown from history.
_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
