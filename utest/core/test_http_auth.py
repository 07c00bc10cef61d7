"""The auth adapters (requests, httpx, requests-oauthlib) with real HTTP: the token, ``SU-SiteId`` and
``HC-API-Version`` go to the hosts of the API discovery document only; a URL elsewhere is refused before
anything is sent, and a redirect elsewhere carries none of them. ``elsewhere`` is a second local server,
on another origin, that must never see them."""

import asyncio

import httpx
import pytest
import requests

from healthcode_auth import ApiOriginRefusedError, api_discovery
from healthcode_auth.errors import MissingSettingError
from healthcode_auth.http_auth import API_HEADERS, HealthcodeHttpxAuth, HealthcodeRequestsAuth
from healthcode_auth.oauth2_session import HealthcodeOAuth2Session

API_TOKEN = "API-TEST-ACCESS-TOKEN-0123456789"  # the api_server session's token


@pytest.fixture
def session(api_server, elsewhere):
    api_server.endpoints(whoami="/api/v1/whoami")
    api_server.server.expect_request("/api/v1/whoami").respond_with_json({"resourceType": "Parameters"})
    api_server.server.expect_request("/api/v1/moved").respond_with_data(
        "", status=302, headers={"Location": "/api/v1/whoami"}
    )
    api_server.server.expect_request("/api/v1/away").respond_with_data(
        "", status=302, headers={"Location": elsewhere.url_for("/collect")}
    )
    return api_server.session()


def api_headers(request):
    return {name: request.headers.get(name) for name in API_HEADERS}


SENT = {"Authorization": f"Bearer {API_TOKEN}", "SU-SiteId": "HC00ABC", "HC-API-Version": "1"}
NONE = dict.fromkeys(API_HEADERS)


def requests_get(session, url, **kwargs):
    return requests.get(url, auth=HealthcodeRequestsAuth(session), timeout=5, **kwargs)


def httpx_get(session, url, **kwargs):
    auth = HealthcodeHttpxAuth(session)
    with httpx.Client(auth=auth, event_hooks=auth.event_hooks, timeout=5, **kwargs) as client:
        return client.get(url)


def oauth2_get(session, url, **kwargs):
    with HealthcodeOAuth2Session(session) as client:
        return client.get(url, timeout=5, **kwargs)


CLIENTS = {"requests": requests_get, "httpx": httpx_get, "oauth2_session": oauth2_get}


@pytest.mark.parametrize("get", CLIENTS.values(), ids=CLIENTS.keys())
def test_the_three_headers_go_to_the_apis_of_the_document(api_server, session, get):
    assert get(session, f"{api_server.base}/api/v1/whoami?x=1").status_code == 200
    (request,) = api_server.requests_to("/api/v1/whoami")
    assert api_headers(request) == SENT


@pytest.mark.parametrize("get", CLIENTS.values(), ids=CLIENTS.keys())
def test_any_other_host_is_refused_before_anything_is_sent(api_server, session, elsewhere, get):
    with pytest.raises(ApiOriginRefusedError) as caught:
        get(session, elsewhere.url_for("/collect?lastName=Gray"))
    assert caught.value.origin == elsewhere.url_for("/").rstrip("/")
    assert "nothing was sent there" in str(caught.value) and "Gray" not in str(caught.value)
    assert elsewhere.log == []


@pytest.mark.parametrize("get", CLIENTS.values(), ids=CLIENTS.keys())
def test_a_redirect_elsewhere_carries_none_of_the_headers(api_server, session, elsewhere, get):
    kwargs = {"follow_redirects": True} if get is httpx_get else {}
    get(session, f"{api_server.base}/api/v1/away", **kwargs)
    (request,) = elsewhere.log[0][:1]
    assert api_headers(request) == NONE


@pytest.mark.parametrize("get", CLIENTS.values(), ids=CLIENTS.keys())
def test_a_redirect_within_the_api_keeps_them(api_server, session, get):
    kwargs = {"follow_redirects": True} if get is httpx_get else {}
    assert get(session, f"{api_server.base}/api/v1/moved", **kwargs).status_code == 200
    (request,) = api_server.requests_to("/api/v1/whoami")
    assert api_headers(request) == SENT


def test_httpx_follows_no_redirect_unless_asked(api_server, session, elsewhere):
    response = httpx_get(session, f"{api_server.base}/api/v1/away")
    assert response.status_code == 302 and elsewhere.log == []


def test_an_async_httpx_client_takes_the_async_hooks(api_server, session, elsewhere):
    auth = HealthcodeHttpxAuth(session)

    async def both():
        async with httpx.AsyncClient(auth=auth, event_hooks=auth.async_event_hooks, follow_redirects=True) as client:
            await client.get(f"{api_server.base}/api/v1/whoami")
            await client.get(f"{api_server.base}/api/v1/away")

    asyncio.run(both())
    assert api_headers(api_server.requests_to("/api/v1/whoami")[0]) == SENT
    assert api_headers(elsewhere.log[0][0]) == NONE


@pytest.mark.parametrize("get", CLIENTS.values(), ids=CLIENTS.keys())
def test_without_a_site_id_nothing_is_sent(api_server, get):
    api_server.endpoints(whoami="/api/v1/whoami")
    with pytest.raises(MissingSettingError, match="HEALTHCODE_SITE_ID"):
        get(api_server.session(site_id=None), f"{api_server.base}/api/v1/whoami")
    assert api_server.requests_to("/api/v1/whoami") == []


def test_an_unknown_host_fetches_the_document_again_at_most_once_a_minute(api_server, session, elsewhere, monkeypatch):
    for _ in range(3):
        with pytest.raises(ApiOriginRefusedError):
            requests_get(session, elsewhere.url_for("/collect"))
    assert api_server.discovery_fetches() == 1  # fetched just now: the API cannot have moved since
    monkeypatch.setattr(api_discovery, "REFETCH_INTERVAL", 0.0)
    for _ in range(2):
        with pytest.raises(ApiOriginRefusedError):
            requests_get(session, elsewhere.url_for("/collect"))
    assert api_server.discovery_fetches() == 3  # once per unknown request, when a minute has passed
    assert elsewhere.log == []


def test_the_header_is_masked_wherever_it_is_shown(api_server, session):
    response = requests_get(session, f"{api_server.base}/api/v1/whoami")
    assert API_TOKEN not in repr(response.request.headers)
    assert "'Bearer <secret>'" in repr(response.request.headers)
    assert API_TOKEN not in repr(HealthcodeRequestsAuth(session)) and API_TOKEN not in repr(
        HealthcodeHttpxAuth(session)
    )
