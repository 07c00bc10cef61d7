"""The requests-oauthlib session: the current token on every request, renewed only through the
bot's session, sent over https anywhere and plain http only to this machine, never logged."""

import logging
import time

import pytest
import requests
from requests.adapters import BaseAdapter

from healthcode_auth import Token, TransportError
from healthcode_auth.oauth2_session import HealthcodeOAuth2Session
from healthcode_auth.protocol.api_document import ApiDocument
from healthcode_auth.redaction import REDACTOR


class FakeSession:
    """The bot's session: hands out a token, renewing it when told it is due, and knows its APIs' hosts."""

    def __init__(self):
        self.config = type("Config", (), {"client_id": "example_rpa_app", "site_id": "HC00ABC", "api_version": "1"})()
        document = ApiDocument(
            "https://api.healthcode.example/.well-known/discovery-document.json",
            {
                "whoami_endpoint": "https://api.healthcode.example/api/v1/whoami",
                "local_endpoint": "http://127.0.0.1:8765/api/v1/whoami",
            },
        )
        self.api_discovery = type("Discovery", (), {"known": document, "may_refetch": lambda _: False})()
        self.renewals = 0
        self.token = Token(access_token="FIRST-ACCESS-TOKEN-VALUE", expires_at=time.time() + 3600)
        self.due = False
        REDACTOR.add("FIRST-ACCESS-TOKEN-VALUE", "RENEWED-ACCESS-TOKEN-VALUE")

    def api_document(self, refresh=False):
        return self.api_discovery.known

    def access_token(self):
        if self.due:
            self.renewals += 1
            self.due = False
            self.token = Token(access_token="RENEWED-ACCESS-TOKEN-VALUE", expires_at=time.time() + 3600)
        return self.token


class Recorder(BaseAdapter):
    """A requests transport that answers 200 and keeps what it was sent (no network)."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response.request, response.url = 200, request, request.url
        return response

    def close(self):
        pass


@pytest.fixture
def api():
    recorder = Recorder()
    session = HealthcodeOAuth2Session(FakeSession())
    session.mount("https://", recorder)
    session.mount("http://", recorder)
    return session, recorder


def test_https_gets_the_current_token_through_requests_oauthlib(api):
    session, recorder = api
    session.get("https://api.healthcode.example/api/v1/whoami")
    assert recorder.sent[-1].headers["Authorization"] == "Bearer FIRST-ACCESS-TOKEN-VALUE"
    assert recorder.sent[-1].headers["SU-SiteId"] == "HC00ABC"
    assert recorder.sent[-1].headers["HC-API-Version"] == "1"
    assert session.authorized


def test_renewal_happens_in_the_bots_session_never_in_requests_oauthlib(api):
    session, recorder = api
    session._healthcode.due = True
    session.get("https://api.healthcode.example/a")
    session.get("https://api.healthcode.example/b")
    assert session._healthcode.renewals == 1
    assert [r.headers["Authorization"] for r in recorder.sent] == ["Bearer RENEWED-ACCESS-TOKEN-VALUE"] * 2
    assert session.auto_refresh_url is None
    assert "refresh_token" not in session.token


def test_plain_http_to_this_machine_works_without_a_process_wide_switch(api, monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    session, recorder = api
    session.get("http://127.0.0.1:8765/api/v1/whoami")
    assert recorder.sent[-1].headers["Authorization"] == "Bearer FIRST-ACCESS-TOKEN-VALUE"
    import os

    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


@pytest.mark.parametrize("url", ["http://api.healthcode.example/x", "http://10.0.0.5/x", "ftp://127.0.0.1/x"])
def test_plain_http_anywhere_else_is_refused_before_sending(api, url):
    session, recorder = api
    with pytest.raises(TransportError, match="over plain http"):
        session.get(url)
    assert recorder.sent == []


def test_no_token_in_requests_oauthlibs_debug_log(api, caplog):
    session, _ = api
    with caplog.at_level(logging.DEBUG):
        session.get("https://api.healthcode.example/x")
    assert "requests_oauthlib" in caplog.text  # it did log, at DEBUG
    assert "FIRST-ACCESS-TOKEN-VALUE" not in caplog.text
    assert "FIRST-ACCESS-TOKEN-VALUE" not in repr(session)
