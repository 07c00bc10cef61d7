"""Hardened like a login service: headers, cookies, the public address, proxies, sizes, no secret anywhere,
and five callbacks at once."""

import base64
import http.client
import json
import logging
import threading
from urllib.parse import quote, urlencode, urlsplit

import pytest
import requests

from healthcode_portal.portal_server import parse_proxies
from healthcode_portal.sign_in_cookie import COOKIE_PREFIX
from portal.portal_helpers import Browser, events, free_port, portal_base, running_portal, stored_entry

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {sso}; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def assert_hardened(answer, sso, *, https=False):
    assert answer.headers["Content-Security-Policy"] == CSP.format(sso=sso)
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
    assert ("Strict-Transport-Security" in answer.headers) is https


def test_every_answer_carries_the_security_headers(browser, sandbox):
    browser.get("")  # learns the authorization endpoint's origin (the sandbox's)
    answers = {
        "landing": browser.get(""),
        "css": browser.get("static/portal.css"),
        "404": browser.get("nowhere"),
        "405": browser.http.put(browser.base + "authorise", timeout=30),
        "callback error": browser.get("postauth?state=x&code=y"),
        "csrf error": browser.http.post(browser.base + "authorise", timeout=30),
    }
    for name, answer in answers.items():
        assert_hardened(answer, sandbox.url)
        if name != "css":
            assert "<style" not in answer.text and "<script" not in answer.text and " style=" not in answer.text
    assert [answers[n].status_code for n in ("404", "405", "callback error", "csrf error")] == [404, 405, 400, 400]
    assert "There is no such page" in answers["404"].text
    assert "cannot be used that way" in answers["405"].text
    assert answers["css"].headers["Content-Type"].startswith("text/css")


def test_a_request_too_large_gets_the_portals_413_page(browser, sandbox, config):
    answer = browser.http.post(browser.base + "authorise", data={"csrf_token": "x" * 100_000}, timeout=30)
    assert answer.status_code == 413
    assert "too large" in answer.text
    assert_hardened(answer, sandbox.url)
    assert stored_entry(config) is None


def test_the_cookies_are_httponly_samesite_lax_and_scoped(browser):
    answer = browser.http.post(
        browser.base + "authorise", data={"csrf_token": browser.csrf()}, allow_redirects=False, timeout=30
    )
    cookies = {c.split("=", 1)[0]: c for c in _set_cookies(answer)}
    sign_in = next(c for name, c in cookies.items() if name.startswith(COOKIE_PREFIX))
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/bots/", "Max-Age=600"):
        assert flag in sign_in
    assert "Secure" not in sign_in  # loopback http: a browser would drop a Secure cookie
    landing = browser.get("")
    assert landing.status_code == 200


def test_the_public_address_comes_from_the_redirect_uri_never_from_the_host_header(browser, config):
    """Every request with a hostile Host (and forwarded headers from an untrusted peer), sent as is."""
    evil = {
        "Host": "evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/evil",
    }
    assert raw(browser, "GET", "status", evil).getheader("Location") == browser.base
    body = urlencode({"csrf_token": browser.csrf()})
    answer = raw(browser, "POST", "authorise", {**evil, "Content-Type": "application/x-www-form-urlencoded"}, body)
    assert answer.status == 303
    location = answer.getheader("Location")
    assert f"redirect_uri={quote(config.redirect_uri, safe='')}" in location and "evil" not in location
    visit = browser.sign_in_at_sso()
    done = raw(browser, "GET", visit.callback_url.split("/bots/", 1)[1], evil)
    assert done.status == 303 and done.getheader("Location") == browser.base + "authorised"
    assert "evil" not in done.getheader("Set-Cookie", "")


def raw(browser, method, path, headers, body=None):
    """A request sent exactly as given (requests picks cookies by the Host header: here the browser's go anyway)."""
    parts = urlsplit(browser.base)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request(method, parts.path + path, body=body, headers={**headers, "Cookie": cookie})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer_and_believed_from_a_trusted_proxy(make_config, sandbox):
    for trusted, expected in (((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")):
        port = free_port()
        config = make_config(uri=f"http://127.0.0.1:{port}/bots/postauth", client_id=f"proxy_test_{port}")
        with running_portal(config, port, trusted_proxies=parse_proxies(trusted)):
            browser = Browser(portal_base(config.redirect_uri))
            answer = browser.callback(browser.sign_in_at_sso().callback_url, headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.status_code == 303
        assert events(config)[-1]["address"] == expected


def test_no_secret_in_any_page_url_cookie_or_log_line(browser, sandbox, config, caplog):
    caplog.set_level(logging.INFO, logger="healthcode_portal")
    pages = [browser.get("")]
    visit = browser.sign_in_at_sso()
    query = dict(p.split("=", 1) for p in visit.callback_url.split("?", 1)[1].split("&"))
    done = browser.callback(visit.callback_url)
    pages += [done, browser.get("authorised"), browser.get("status")]
    token = stored_entry(config).entry.token.access_token
    secrets = [query["code"], query["state"], token, token.split(".")[1]]
    sealed = json.loads(base64.urlsafe_b64decode(visit.sign_in_cookie + "=" * (-len(visit.sign_in_cookie) % 4)))
    assert set(sealed) == {"format", "version", "key_source", "salt", "generation", "nonce", "ciphertext"}
    session_cookie = browser.http.cookies.get("healthcode_portal")
    session_text = base64.urlsafe_b64decode(session_cookie.split(".")[0] + "==").decode("utf-8", "replace")
    seen = [p.text for p in pages] + [done.headers["Location"], json.dumps(sealed), session_text, caplog.text]
    for secret in secrets:
        assert not [s for s in seen if secret in s]
    assert '/bots/postauth" 303' in caplog.text  # the access log names the path, without its query


def test_five_callbacks_at_once_leave_a_coherent_store_and_five_records(browser, sandbox, config):
    browsers = [Browser(browser.base) for _ in range(5)]
    visits = [b.sign_in_at_sso() for b in browsers]
    answers = [None] * 5
    start = threading.Barrier(5)

    def complete(i):
        start.wait()
        answers[i] = browsers[i].callback(visits[i].callback_url)

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [a.status_code for a in answers] == [303] * 5
    stored = stored_entry(config)
    assert stored is not None and stored.entry.token.supervisor == "supervisor"
    assert len([e for e in events(config) if e["event"] == "signed-in" and e["via"] == "portal"]) == 5
    assert sandbox.request_count("token.authorization_code") == 5


def test_https_adds_hsts_and_secure_cookies(make_config, sandbox, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    config = make_config(uri=f"https://localhost:{port}/postauth", client_id="tls_portal_app")
    with running_portal(config, port, certificate=str(cert_file), private_key=str(key_file)):
        browser = Browser(portal_base(config.redirect_uri), verify=str(ca_file))
        landing = browser.get("")
        assert_hardened(landing, sandbox.url, https=True)
        assert landing.headers["Strict-Transport-Security"] == "max-age=31536000"
        answer = browser.http.post(
            browser.base + "authorise", data={"csrf_token": browser.csrf()}, allow_redirects=False, timeout=30
        )
        sign_in = next(c for c in _set_cookies(answer) if c.startswith(COOKIE_PREFIX))
        assert "Secure" in sign_in and "Path=/;" in sign_in
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://localhost:{port}/", timeout=5)


def _set_cookies(answer):
    return answer.raw.headers.getlist("Set-Cookie")
