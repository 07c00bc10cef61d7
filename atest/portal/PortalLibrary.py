"""Keywords of the portal's acceptance suite that a browser cannot do: the cookies decoded and kept for the
secret scan, headers read over TLS with the test CA, and a client that bypasses nginx to talk to the portal
directly with an X-Forwarded-For of its own choosing.

Nothing here logs or returns a code, a state or a token: only what the suite checks.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import logging
import re
import ssl
import zlib
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from robot.api.deco import keyword, library


@library(scope="GLOBAL")
class PortalLibrary:
    @keyword
    def save_cookies(self, cookies: list[Any], path: str) -> list[str]:
        """Writes the browser's cookies to ``path`` (JSON): each with its flags, its value as the browser holds
        it, and the portal session's payload decoded (Flask's signed cookie is readable, not encrypted; the
        pending sign-in's cookie is sealed and stays opaque). Returns the names."""
        kept = []
        for cookie in cookies:
            item = {k: cookie.get(k) for k in ("name", "value", "domain", "path", "httpOnly", "secure", "sameSite")}
            if cookie.get("name") == "healthcode_portal":
                item["decoded"] = decode_flask_session(str(cookie.get("value", "")))
            kept.append(item)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(kept, indent=2), encoding="utf-8")
        return [str(item["name"]) for item in kept]

    @keyword
    def get_headers_over_tls(self, url: str, ca_file: str) -> dict[str, str]:
        """GET ``url`` verifying its certificate with the test CA only; the answer's headers (lower-case names)."""
        context = ssl.create_default_context(cafile=ca_file)
        response = httpx.get(url, verify=context, timeout=15)
        if response.status_code != 200:
            raise AssertionError(f"{urlsplit(url).path} answered {response.status_code}")
        return {name.lower(): value for name, value in response.headers.items()}

    @keyword
    def sign_in_bypassing_the_proxy(self, portal_url: str, forwarded_for: str) -> dict[str, Any]:
        """A client on this machine talks to the portal at ``portal_url`` directly (not through nginx), sending
        ``X-Forwarded-For: forwarded_for`` on every request, and completes a sign-in (the sandbox must approve at
        once: the remembered_supervisor knob). Cookies are sent by hand: they are Secure, and this is plain http.
        Returns what the suite checks: the cookies' flags and the newest supervision record entry."""
        forged = {"X-Forwarded-For": forwarded_for}
        jar: dict[str, str] = {}
        flags: dict[str, str] = {}
        with _quiet("httpx", "httpcore"), httpx.Client(headers=forged, timeout=30, follow_redirects=False) as client:
            landing = self._get(client, portal_url, jar, flags)
            token = re.search(r'name="csrf_token" value="([^"]+)"', landing.text)
            if token is None:
                raise AssertionError("The landing page has no form with a CSRF token.")
            authorise = client.post(
                f"{portal_url}authorise",
                data={"csrf_token": html.unescape(token.group(1))},
                headers={"Cookie": _cookie_header(jar)},
            )
            _keep(authorise, jar, flags)
            if authorise.status_code != 303:
                raise AssertionError(f"Authorise answered {authorise.status_code}, not 303.")
            sso = client.get(authorise.headers["location"])
            back = urlsplit(sso.headers.get("location", ""))
            if sso.status_code not in (302, 303) or not back.path.endswith("/postauth"):
                raise AssertionError(f"The sandbox did not send the browser back at once ({sso.status_code}).")
            callback = client.get(f"{portal_url}postauth?{back.query}", headers={"Cookie": _cookie_header(jar)})
            _keep(callback, jar, flags)
            if callback.status_code != 303 or not callback.headers["location"].endswith("/authorised"):
                raise AssertionError(f"The callback answered {callback.status_code}, not 303 to the authorised page.")
            status = self._get(client, f"{portal_url}status", jar, flags)
        entries = re.findall(r"<li>(.*?)</li>", status.text, flags=re.S)
        newest = re.sub(r"<[^>]+>", "", entries[0]).split() if entries else []
        return {"cookie_flags": flags, "newest_record": " ".join(newest), "status_page": status.status_code}

    @staticmethod
    def _get(client: httpx.Client, url: str, jar: dict[str, str], flags: dict[str, str]) -> httpx.Response:
        response = client.get(url, headers={"Cookie": _cookie_header(jar)} if jar else None)
        _keep(response, jar, flags)
        if response.status_code != 200:
            raise AssertionError(f"{urlsplit(url).path} answered {response.status_code}")
        return response


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """httpx logs every request's URL (the callback's has the code) and httpcore every header: Robot would
    keep them at TRACE. Silenced while the keyword runs."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _keep(response: httpx.Response, jar: dict[str, str], flags: dict[str, str]) -> None:
    """Take the answer's Set-Cookie headers into the jar (a deleted cookie leaves it) and note their flags."""
    for header in response.headers.get_list("set-cookie"):
        for name, morsel in SimpleCookie(header).items():
            sign_in = name.startswith("healthcode_portal_sign_in_")  # one cookie per sign-in: noted as one kind
            kind = "healthcode_portal_sign_in" if sign_in else name
            flags.setdefault(kind, "; ".join(part.strip() for part in header.split(";")[1:]))
            if morsel["max-age"] == "0" or not morsel.value or morsel.value == '""':
                jar.pop(name, None)
            else:
                jar[name] = morsel.value


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def decode_flask_session(value: str) -> Any:
    """The payload of Flask's session cookie (itsdangerous: [.]base64(payload).timestamp.signature; a leading
    dot means zlib-compressed)."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".", 1)[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(data) if compressed else data)
