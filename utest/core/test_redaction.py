import logging

import requests

from healthcode_auth.redaction import MASK, MaskedHeaderValue, SecretRedactor


def test_registered_secrets_are_masked_in_guarded_loggers(caplog):
    redactor = SecretRedactor()
    redactor.install()
    redactor.add("the-access-token-value", None, "short")
    try:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("httpcore.http11").debug("sending Bearer %s", "the-access-token-value")
            logging.getLogger("httpx").info("short stays")
        assert "the-access-token-value" not in caplog.text
        assert f"Bearer {MASK}" in caplog.text
        assert "short stays" in caplog.text
    finally:
        for name in ("httpcore.http11", "httpx"):
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
