"""The authorization probe (``healthcode-auth check``, and the browser's refused-request reading)
against small SSOs of its own: a page that asks for nothing is a refusal only where the SSO also
ends for a client id it cannot know."""

from urllib.parse import parse_qs, urlsplit

import pytest

from fake_sso import discovery_document
from healthcode_auth import HealthcodeConfig
from healthcode_auth.authorization_probe import ACCEPTED, REFUSED, UNKNOWN, probe_authorization
from healthcode_auth.client import HealthcodeAuthClient

SIGN_IN_FORM = "<form method=post><input name=username><input type=password name=password></form>"
IDP_BUTTONS = "<h1>Choose how to sign in</h1><a href=/idp/microsoft>Microsoft</a><a href=/idp/google>Google</a>"
ERROR_PAGE = "<h1>Sorry</h1><p>This request cannot go ahead.</p>"


def sso(httpserver, registered_page, unknown_client_answer):
    """An SSO whose /authorize shows ``registered_page`` for the client 'bot', and answers any other
    client id with ``unknown_client_answer`` (status, body)."""
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(base))

    def authorize(request):
        from werkzeug import Response

        if parse_qs(urlsplit(request.url).query).get("client_id") == ["bot"]:
            return Response(registered_page, 200, content_type="text/html")
        status, body = unknown_client_answer
        return Response(body, status, content_type="text/html")

    httpserver.expect_request("/authorize").respond_with_handler(authorize)
    config = HealthcodeConfig(
        client_id="bot", redirect_uri="https://bot.example/cb", environment=f"{base}/.well-known/openid-configuration"
    )
    return HealthcodeAuthClient(config)


@pytest.mark.parametrize(
    ("page", "unknown", "verdict"),
    [
        (SIGN_IN_FORM, (400, ERROR_PAGE), ACCEPTED),
        (ERROR_PAGE, (200, ERROR_PAGE), REFUSED),  # the same place and status as for an unknown client
        (IDP_BUTTONS, (400, ERROR_PAGE), UNKNOWN),  # asks for nothing, but is not the refusal: never "refused"
    ],
)
def test_a_page_that_asks_for_nothing_is_a_refusal_only_where_an_unknown_client_ends(
    httpserver, page, unknown, verdict
):
    with sso(httpserver, page, unknown) as client:
        assert probe_authorization(client).verdict == verdict


SCRIPT_SHELL = "<div id=app>Loading...</div><script src=/app.js></script>"


@pytest.mark.parametrize(
    ("page", "unknown"),
    [
        (SCRIPT_SHELL, (200, SCRIPT_SHELL)),  # a page built by script, the same shell for every request
    ],
)
def test_a_page_built_by_script_is_not_read_as_a_refusal(httpserver, page, unknown):
    """Red team, issue 17 break E: a "Loading..." shell was taken for the SSO's refusal."""
    with sso(httpserver, page, unknown) as client:
        result = probe_authorization(client)
    assert result.verdict == UNKNOWN and "scripts build" in result.detail


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_an_sso_failing_for_now_is_not_a_refusal(httpserver, status):
    """Red team, issue 17 break F: a temporary 503 was blamed on the client id or redirect URI."""
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(base))
    httpserver.expect_request("/authorize").respond_with_data(ERROR_PAGE, status=status, content_type="text/html")
    config = HealthcodeConfig(
        client_id="bot",
        redirect_uri="https://bot.example/cb",
        environment=f"{base}/.well-known/openid-configuration",
        timeout=3,
    )
    with HealthcodeAuthClient(config) as client:
        result = probe_authorization(client)
    assert result.verdict == UNKNOWN and str(status) in result.detail
