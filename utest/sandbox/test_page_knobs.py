"""The knobs that change the supervisor's pages: refusals as a redirect to a 200 error page (as
IdentityServer does), a third party's frame in the sign-in page, and an approval by script."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

import pytest

from healthcode_sandbox import Faults, Sandbox, SandboxConfigurationError, Supervisor

from .flows import HTTP, Flow, query

REDIRECT = "https://rpaapp.example.com/postauth"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"client_id": "no_such_app"}, "does not exist"),
        ({"redirect_uri": REDIRECT + "/"}, "not supported by client"),
        ({"code_challenge_method": "plain", "client_id": "no_such_app"}, "does not exist"),
    ],
    ids=["unknown-client", "trailing-slash", "unknown-client-plain"],
)
def test_error_page_redirect_sends_a_refusal_to_an_error_page_answered_200(
    flow: Flow, sandbox: Sandbox, overrides: dict[str, str], expected: str
) -> None:
    sandbox.set_faults(error_page_redirect=True)
    refused = HTTP.get(flow.authorize_url(**overrides))
    assert refused.status_code == 302
    location = urljoin(refused.request.url.__str__(), refused.headers["location"])
    assert location.startswith(f"{sandbox.url}/error?id=")
    assert REDIRECT not in location and "state" not in location  # never back to the client
    page = HTTP.get(location)
    assert page.status_code == 200
    assert expected in page.text and 'role="alert"' in page.text
    assert "<input" not in page.text


def test_without_the_knob_a_refusal_is_a_400_page(flow: Flow) -> None:
    assert HTTP.get(flow.authorize_url(client_id="no_such_app")).status_code == 400


def test_an_error_page_that_is_not_kept_is_not_found(sandbox: Sandbox) -> None:
    assert HTTP.get(f"{sandbox.url}/error?id=made-up").status_code == 404


def test_error_page_redirect_changes_nothing_for_a_good_request(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(error_page_redirect=True)
    page = HTTP.get(flow.authorize_url())
    assert page.status_code == 200 and 'type="password"' in page.text
    assert "code" in flow.sign_in()


def test_embed_url_puts_a_frame_of_that_url_in_the_sign_in_page(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(embed_url='http://localhost:9/page?a=1&b="2"')
    page = HTTP.get(flow.authorize_url())
    frames = re.findall(r'<iframe id="embedded"[^>]*src="([^"]*)"', page.text)
    assert frames == ["http://localhost:9/page?a=1&amp;b=&#34;2&#34;"]  # escaped like any value
    sandbox.reset_faults()
    assert "<iframe" not in HTTP.get(flow.authorize_url()).text


@pytest.mark.parametrize("value", ["javascript:alert(1)", "/relative", 5])
def test_embed_url_must_be_an_http_url(value: object) -> None:
    with pytest.raises(SandboxConfigurationError, match="embed_url"):
        Faults().updated({"embed_url": value})


def test_approve_by_script_answers_with_a_page_that_goes_to_the_redirect_uri(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(approve_by_script=True, remembered_supervisor="supervisor")
    page = HTTP.get(flow.authorize_url())
    assert page.status_code == 200 and "location" not in page.headers
    target = json.loads(re.search(r"location\.replace\((.*?)\);", page.text).group(1).replace("<\\/", "</"))
    assert target.startswith(REDIRECT + "?") and query(target)["state"] == flow.state and "code" in query(target)


def test_approve_by_script_leaves_refusals_and_denials_alone(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(approve_by_script=True, deny_sign_in=True)
    denied = HTTP.get(flow.authorize_url())
    assert denied.status_code == 302 and query(denied.headers["location"])["error"] == "access_denied"


def test_the_supervisor_helper_still_signs_in_with_the_page_knobs_on(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(embed_url="http://localhost:9/frame", error_page_redirect=True)
    assert Supervisor().sign_in(flow.authorize_url()).startswith(REDIRECT)
