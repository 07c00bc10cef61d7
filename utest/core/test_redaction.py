import base64
import html
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
import requests

from healthcode_auth.protocol.token_endpoint import basic_authorization
from healthcode_auth.redaction import MASK, MaskedHeaderValue, SecretRedactor


def test_registered_secrets_are_masked_in_guarded_loggers(caplog):
    redactor = SecretRedactor()
    redactor.install()
    redactor.add("the-access-token-value", None, "short")
    try:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("urllib3.connectionpool").debug("sending Bearer %s", "the-access-token-value")
            logging.getLogger("httpx").info("short stays")
        assert "the-access-token-value" not in caplog.text and "Bearer the" not in caplog.text
        # Masked, or (once a library made an HTTP client: http_log_filters.py) cut to its own words.
        assert f"Bearer {MASK}" in caplog.text or "sending Bearer\n" in caplog.text
        assert "short stays" in caplog.text
    finally:
        for name in ("urllib3.connectionpool", "httpx"):
            logging.getLogger(name).removeFilter(redactor)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(redactor)


def test_masked_header_shows_mask_in_logs_but_sends_value(httpserver):
    value = MaskedHeaderValue("Bearer REAL-TOKEN-VALUE")
    assert repr(value) == "'Bearer <secret>'"
    assert "REAL-TOKEN-VALUE" not in str({"Authorization": value})
    httpserver.expect_request("/api", headers={"Authorization": "Bearer REAL-TOKEN-VALUE"}).respond_with_data("ok")
    response = requests.get(httpserver.url_for("/api"), headers={"Authorization": value}, timeout=5)
    assert response.text == "ok"
    assert "REAL-TOKEN-VALUE" not in "headers=%s" % response.request.headers  # noqa: UP031 - as RequestsLibrary logs


AWKWARD = "p@ss:w/rd%! \"<&>'\\é-0123456789"  # every kind of character a spelling changes


def spelled(secret: str) -> list[str]:
    attribute = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        attribute,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr({"k": secret})[7:-2],
    ]


@pytest.mark.parametrize(
    "form",
    spelled(AWKWARD),
    ids=[
        "as is",
        "percent-encoded",
        "path",
        "form-encoded",
        "html",
        "xml text",
        "xml attribute",
        "json",
        "json unicode",
        "repr",
        "repr in a dict",
    ],
)
def test_every_spelling_of_a_secret_is_masked(form):
    redactor = SecretRedactor()
    redactor.add(AWKWARD)
    assert redactor.redact(f"logged: [{form}]") == f"logged: [{MASK}]"


def test_a_store_password_is_masked_decoded_and_percent_encoded_in_its_url():
    """docs/fleet.md has users percent-encode the Redis password in HEALTHCODE_TOKEN_CACHE."""
    password = "p@ss:w/rd%!"
    url = f"redis://:{quote(password, safe='')}@redis.internal:6379/0"
    redactor = SecretRedactor()
    redactor.add(password)
    assert redactor.redact(url) == f"redis://:{MASK}@redis.internal:6379/0"
    assert redactor.redact(f"AUTH {password}") == f"AUTH {MASK}"


@pytest.mark.parametrize("client_id", ["example_rpa_app", "rpa app/1+2"])
def test_the_basic_header_of_a_client_secret_is_masked_in_both_encodings(client_id):
    secret = "s3cr3t value+/=&x"
    redactor = SecretRedactor()
    redactor.add_basic_credentials(client_id, secret)
    sent = basic_authorization(client_id, secret)  # the header the token endpoint sends (RFC 6749 2.3.1)
    plain = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()  # RFC 7617
    assert redactor.redact(f"Authorization: {sent}") == f"Authorization: Basic {MASK}"
    assert redactor.redact(f"Authorization: {plain}") == f"Authorization: Basic {MASK}"
    assert redactor.redact(quote_plus(secret)) == MASK
    redactor.add_basic_credentials(client_id, None)  # a public client: nothing to register
    assert redactor.redact(client_id) == client_id


def test_a_secret_in_many_spellings_costs_one_search_when_none_is_there():
    """What keeps masking fast: each secret's spellings share a run of characters no encoding
    changes; it is looked for first, and the spellings only where it occurs."""

    class CountedText(str):
        searches = 0

        def __contains__(self, other):
            CountedText.searches += 1
            return super().__contains__(other)

    redactor = SecretRedactor()
    redactor.add(AWKWARD, "token-" + "x" * 40)
    assert len(redactor.secrets) >= 2 + 5
    text = CountedText("Message 1: an ordinary line a robot writes while it works, of a usual length.")
    assert redactor.redact(text) is text
    assert CountedText.searches == 2  # one per secret, not one per spelling


def test_a_secret_inside_a_longer_one_does_not_leave_the_rest_showing():
    redactor = SecretRedactor()
    redactor.add("abcdefgh-1234", "xx-abcdefgh-1234-yy")
    assert redactor.redact("token xx-abcdefgh-1234-yy and abcdefgh-1234") == f"token {MASK} and {MASK}"
