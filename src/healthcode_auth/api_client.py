"""Calling Healthcode's APIs the way Healthcode documents them, from Python.

::

    api = HealthcodeApi(session)
    members = api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": "Gray"})
    members.count, members["entry"][0]["resource"]["status"]

Every API is looked up by its name in the API discovery document (never a typed-in URL); every call
carries the current token, ``SU-SiteId`` and ``HC-API-Version``, to the document's hosts only
(``http_auth.py``). Fields go as query parameters for GET, DELETE and HEAD and as a form for POST,
PUT and PATCH; a FHIR resource (``json=``) goes as ``application/fhir+json``. Within one total
deadline (the ``timeout`` setting), a call follows one redirect to another address of the API, with
the headers, then fetches the document again; fetches the document again after a 404 and, when the
API moved, calls it there once; retries a GET that answered 5xx twice (0.5 s, then 1 s later); and,
when asked, reads every page of a list (``protocol/fhir_paging.py``). An error answer becomes an
:class:`~healthcode_auth.errors.ApiRequestError` (4xx) or :class:`~healthcode_auth.errors.ApiServerError`
(5xx) built from its ``OperationOutcome`` (``protocol/fhir_outcome.py``).

A fetch of the document within a call gets what is left of its deadline; one the call needs (after a
404, for a redirect to a host not known yet) ends the call with the deadline's error past it. A token
renewal is not cut short (its POST may have spent a single-use refresh token): the call checks its
deadline after it. Arguments that cannot be sent (text or NaN as ``json``, a lone surrogate, ``.`` as
an id, an address too long) are an :class:`~healthcode_auth.errors.ApiArgumentError`, quoting no value.

The answer is an :class:`~healthcode_auth.protocol.api_result.ApiResult`, which shows as a summary
wherever it is logged. The log says which API was called, how, and what came back (status, resource
type, number of entries), never a query value, a request body or an answer's contents, unless the
call says ``log_content=True`` or the ``log_api_content`` setting is on (and then still masked); an
error's message leaves out an OperationOutcome's diagnostics unless so too (``protocol/fhir_outcome.py``).
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

from .api_settings import require_site_id
from .errors import (
    ApiAnswerError,
    ApiArgumentError,
    ApiRequestError,
    ApiServerError,
    HealthcodeAuthError,
    TransportError,
    escaped,
)
from .http_auth import healthcode_headers, origin_refused
from .http_log_filters import install_log_filters
from .protocol.api_arguments import api_name, checked_flags, json_body, text_fields, with_path
from .protocol.api_document import ApiDocument
from .protocol.api_result import ApiResult
from .protocol.fhir_outcome import describe_outcome, outcome_issues, reason_phrase
from .protocol.fhir_paging import entries_of, is_bundle, merge_pages, next_link, next_page_fields
from .protocol.urls import origin_of, split_url
from .redaction import REDACTOR
from .transport import HttpResponse

if TYPE_CHECKING:
    from .session import HealthcodeSession

log = logging.getLogger("healthcode_auth")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
QUERY_METHODS = ("GET", "DELETE", "HEAD")  # fields as query parameters; the others send them as a form
RETRIED = ("GET", "HEAD")  # idempotent: a 5xx is tried again
RETRY_DELAYS = (0.5, 1.0)
REDIRECTS = (301, 302, 303, 307, 308)
ACCEPT = "application/fhir+json, application/json"
MAX_ANSWER_BYTES = 5_000_000
MAX_PAGES = 1000
MAX_ALL_PAGES_BYTES = 50_000_000
MAX_LOGGED_CONTENT = 100_000
_MEDIA = re.compile(r"(?:application|text|image|audio|video|multipart|font)/[a-z0-9.+-]{1,60}")  # server's words
MAX_URL_CHARS = 60_000  # an address with its query (httpx sends none over 65,536)


class HealthcodeApi:
    """Healthcode's APIs for one bot's session: look them up by name, call them."""

    def __init__(self, session: HealthcodeSession) -> None:
        self.session = session
        install_log_filters()

    def endpoint(self, name: str) -> str:
        """The URL of the API ``name`` (``find_member`` or ``find_member_endpoint``); an
        :class:`~healthcode_auth.errors.ApiDiscoveryError` listing the known names when there is none."""
        return self.session.api_document().endpoint(api_name(name))

    def endpoints(self) -> dict[str, str]:
        """Every API of the discovery document by name (without ``_endpoint``), sorted."""
        return self.session.api_document().endpoints

    def allowed_origins(self) -> tuple[str, ...]:
        """The hosts (scheme, host, port) the token, the site id and the API version may be sent to."""
        return tuple(sorted(self.session.api_document().origins))

    def refresh_discovery(self) -> ApiDocument:
        """Fetch the API discovery document again (and keep it beside the token)."""
        return self.session.api_document(refresh=True)

    def call(
        self,
        name: str,
        method: str = "GET",
        fields: Mapping[str, Any] | None = None,
        json: Any = None,
        path: str | int | None = None,
        all_pages: bool = False,
        log_content: bool | None = None,
    ) -> ApiResult:
        """Call the API ``name`` and return its answer (see the module's documentation).

        ``fields`` go as query parameters (GET, DELETE, HEAD) or as a form (POST, PUT, PATCH); a list
        value is sent comma-separated, as Healthcode reads several values. ``json`` is a FHIR resource
        to send instead of fields. ``path`` is an id appended to the API's URL as one path segment.
        ``all_pages`` reads every page of a list into one Bundle. ``log_content`` (default: the
        ``log_api_content`` setting) also logs what was sent and received: patient data.
        """
        verb = method.strip().upper() if isinstance(method, str) else ""
        if verb not in METHODS:
            raise ApiArgumentError(
                f"'{escaped(method, 20)}' is not a method of Healthcode's APIs: use one of {', '.join(METHODS)}."
            )
        name = api_name(name)
        form = text_fields(fields)
        if json is not None and (verb in QUERY_METHODS or form):
            raise ApiArgumentError(
                "A JSON body goes with POST, PUT or PATCH, and without fields: give either fields or json."
            )
        body = None if json is None else json_body(json)
        require_site_id(self.session.config.site_id)
        checked_flags(all_pages=all_pages, log_content=log_content)
        content = self.session.config.log_api_content if log_content is None else log_content
        return _Call(self.session, name, verb, form, body, path, bool(content)).run(all_pages)


class _Call:
    """One call: its deadline, where the API is, and whether the document was fetched again yet."""

    def __init__(
        self,
        session: HealthcodeSession,
        name: str,
        method: str,
        fields: dict[str, str],
        body: bytes | None,
        path: str | int | None,
        log_content: bool,
    ) -> None:
        self.session, self.name, self.method, self.fields, self.body = session, name, method, fields, body
        self.path, self.log_content = path, log_content
        self.started = time.monotonic()
        self.deadline = self.started + session.config.timeout
        self.document = session.api_document()
        self.url = with_path(self.document.endpoint(name), path)
        self.refetched = False
        self.received = 0
        self.what = f"Healthcode API '{escaped(name, 100)}'"

    def run(self, all_pages: bool) -> ApiResult:
        if self.log_content:
            sent = self.body.decode("utf-8", "replace") if self.body is not None else jsonlib.dumps(self.fields)
            log.info("%s: %s sends %s", self.what, self.method, _loggable(sent))
        status, answer, self.url = self.exchange(self.method, self.url, self.fields, self.body, endpoint=True)
        pages = [answer]
        if all_pages and is_bundle(answer):
            pages.extend(self.more_pages(answer))
        result = ApiResult(merge_pages(pages) if len(pages) > 1 else answer, status=status, endpoint=self.name)
        read = f", {len(pages)} pages" if len(pages) > 1 else ""
        log.info(
            "%s: %s %s, %s%s (%.2f s)",
            self.what,
            self.method,
            reason_phrase(status),
            result.summary,
            read,
            time.monotonic() - self.started,
        )
        if self.log_content:
            log.info("%s answered %s", self.what, _loggable(jsonlib.dumps(result.plain(), ensure_ascii=False)))
        return result

    def exchange(
        self, method: str, url: str, fields: dict[str, str], body: bytes | None, *, endpoint: bool
    ) -> tuple[int, dict[str, Any], str]:
        """Send one request, following one redirect, a move found after a 404 and the retries of a
        GET's 5xx; the status, the JSON object and the URL that answered."""
        redirected, retries = False, 0
        while True:
            response = self.send(method, url, fields, body)
            status = response.status_code
            if status in REDIRECTS and response.headers.get("location"):
                if redirected:
                    raise ApiAnswerError(
                        f"{self.what} redirected again after a redirect ({reason_phrase(status)}); "
                        "only one is followed. Report it to Healthcode support.",
                        status=status,
                        endpoint=self.name,
                    )
                redirected, url = True, self.redirect_target(url, response.headers["location"])
                if status == 303:
                    method, fields, body = "GET", {}, None
                log.info("%s: %s, calling it once at %s", self.what, reason_phrase(status), origin_of(url))
                continue
            if redirected and not self.refetched:
                self.refetch(needed=False)  # the API moved: the document should say where now
            if status == 404 and endpoint and not self.refetched:
                self.refetch(needed=True)
                moved = with_path(self.document.endpoint(self.name), self.path)
                if moved != url:
                    log.info(
                        "%s: %s; the API discovery document names a new address: calling it there once",
                        self.what,
                        reason_phrase(status),
                    )
                    url = moved
                    continue
            if (
                status >= 500
                and method in RETRIED
                and retries < len(RETRY_DELAYS)
                and self.deadline - time.monotonic() > RETRY_DELAYS[retries]
            ):
                log.info("%s: %s, trying again in %g s", self.what, reason_phrase(status), RETRY_DELAYS[retries])
                time.sleep(RETRY_DELAYS[retries])
                retries += 1
                continue
            return status, self.answer(method, status, response, retries), url

    def late(self) -> TransportError:
        return TransportError(
            f"The {self.what} call did not finish within {self.session.config.timeout:g} "
            "seconds (the timeout setting, for the whole call: redirects, retries, pages, "
            "fetching the API discovery document again). Raise the timeout setting, or ask for less."
        )

    def send(self, method: str, url: str, fields: dict[str, str], body: bytes | None) -> HttpResponse:
        query = fields if method in QUERY_METHODS else None
        if len(url) + (len(urlencode(query)) + 1 if query else 0) > MAX_URL_CHARS:
            raise ApiArgumentError(
                f"{self.what}'s address with its fields would be over {MAX_URL_CHARS} characters "
                "long, more than can be sent: send fewer or shorter fields."
            )
        headers = {**healthcode_headers(self.session, url, self.deadline - time.monotonic()), "Accept": ACCEPT}
        remaining = self.deadline - time.monotonic()  # after any token renewal or document fetch
        if remaining <= 0:
            raise self.late()
        form = fields if method not in QUERY_METHODS and body is None else None
        if body is not None:
            headers["Content-Type"] = "application/fhir+json"
        transport = self.session.client.transport
        response = transport.send(
            method,
            url,
            self.what,
            remaining=remaining,
            headers=headers,
            params=query or None,
            data=form or None,
            content=body,
            limit=MAX_ANSWER_BYTES,
            shown=origin_of(url),
        )
        self.received += len(response.body)
        if self.received > MAX_ALL_PAGES_BYTES:
            raise ApiAnswerError(
                f"{self.what} sent more than {MAX_ALL_PAGES_BYTES} bytes in all; ask for less "
                "(filters) or page through it yourself.",
                status=response.status_code,
                endpoint=self.name,
            )
        return response

    def answer(self, method: str, status: int, response: HttpResponse, retries: int) -> dict[str, Any]:
        body = response.json() if response.body.strip() else None
        if 200 <= status < 300 and time.monotonic() > self.deadline:  # reading a large answer takes time too
            raise self.late()
        if 200 <= status < 300:
            if body is None and not response.body.strip():
                return {}
            if isinstance(body, dict):
                return body
            media = response.content_type.split(";", 1)[0].strip().lower()  # a known kind only: the rest is the
            media = media if _MEDIA.fullmatch(media) else "an unexpected content type" if media else "no content type"
            kind = "JSON that is not an object" if body is not None else f"something that is not JSON ({media})"
            raise ApiAnswerError(
                f"{self.what} ({method}) answered {reason_phrase(status)} with {kind}.",
                status=status,
                endpoint=self.name,
            )
        raise _answer_error(
            self.what, self.name, method, status, body, self.session.config.site_id, retries, self.log_content
        )

    def redirect_target(self, url: str, location: str) -> str:
        """Where a redirect leads, when that is one of the document's hosts (fetched again once if not)."""
        target = urljoin(url, location.strip())
        parts = split_url(target)
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise origin_refused(target, self.document)
        if not self.document.allows(target) and not self.refetched:
            self.refetch(needed=True)
        if not self.document.allows(target):
            raise origin_refused(target, self.document)
        return target

    def refetch(self, *, needed: bool) -> None:
        """Fetch the document again within what is left of the deadline. One the call ``needed`` (to
        know where the API is now) ends the call at the deadline; otherwise it is skipped then."""
        self.refetched = True
        remaining = self.deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise self.late()
            self.document = self.session.api_document(refresh=True, remaining=remaining)
        except HealthcodeAuthError as error:
            if needed and time.monotonic() >= self.deadline:
                raise self.late() from None
            log.warning("%s: the API discovery document could not be fetched again: %s", self.what, error)

    def more_pages(self, first: dict[str, Any]) -> list[dict[str, Any]]:
        """The pages after ``first``: by its next link, else by its page tags; until an empty page."""
        pages: list[dict[str, Any]] = []
        page, fields, url = first, self.fields, self.url
        seen, linked = {url}, False
        while True:
            link = next_link(page)
            if link is None:
                fields_next = None if linked else next_page_fields(page, fields)  # the links' last page
                if fields_next is None:
                    return pages
                if fields_next.get("page") == fields.get("page"):  # the tags did not move on
                    read = sum(len(entries_of(p)) for p in (first, *pages))
                    raise ApiAnswerError(
                        f"{self.what} answered page {escaped(fields.get('page'), 20)} as an earlier "
                        f"page: the list would be incomplete ({read} entries read). Report it to "
                        "Healthcode support, or page through it yourself.",
                        status=200,
                        endpoint=self.name,
                    )
                if self.body is not None:
                    log.warning(
                        "%s: more pages remain, but a call with a JSON body is not paged by its fields; "
                        "page through it yourself.",
                        self.what,
                    )
                    return pages
                fields = fields_next
            if len(pages) + 1 >= MAX_PAGES:
                raise ApiAnswerError(
                    f"{self.what} has more than {MAX_PAGES} pages; ask for less (filters, a larger "
                    "page count) or page through it yourself.",
                    status=200,
                    endpoint=self.name,
                )
            if link is not None:
                next_url = urljoin(url, link)
                if next_url in seen:
                    raise ApiAnswerError(
                        f"{self.what}'s next link leads to a page read before; report it to Healthcode support.",
                        status=200,
                        endpoint=self.name,
                    )
                seen.add(next_url)
                linked = True
                _, page, url = self.exchange("GET", next_url, {}, None, endpoint=False)
            else:
                _, page, self.url = self.exchange(self.method, self.url, fields, None, endpoint=True)
                url = self.url
            pages.append(page)
            if not entries_of(page):
                return pages


def _answer_error(
    what: str, name: str, method: str, status: int, body: Any, site_id: str | None, retries: int, content: bool
) -> ApiAnswerError:
    text = f"{what} ({method}) answered {describe_outcome(status, body, content=content)}."
    if status == 401:
        text += " The access token was refused: a supervisor must sign in again if this persists."
    elif status == 403:
        text += (
            f" Healthcode refused the site id (SU-SiteId '{escaped(site_id, 40)}') or this account's rights to "
            "it: check the site_id setting (HEALTHCODE_SITE_ID) against My Account in the Healthcode Account, "
            "and that the supervisor's account may use that site."
        )
    elif status == 404:
        text += " There is no such resource, or the API is no longer there (the discovery document was fetched again)."
    elif status >= 500:
        tried = f" (tried {retries + 1} times)" if retries else ""
        text += (
            f" Healthcode's API failed{tried}; Healthcode asks to be told when 5xx answers persist: if it does, "
            "report it to Healthcode support."
        )
    elif 400 <= status < 500:
        text += " Check the fields sent against Healthcode's API library."
    cls = ApiServerError if status >= 500 else ApiRequestError if status >= 400 else ApiAnswerError
    return cls(text, status=status, endpoint=name, issues=outcome_issues(body, content=content))


def _loggable(text: str) -> str:
    """Contents a caller asked to log: secrets masked, at most :data:`MAX_LOGGED_CONTENT` characters."""
    shown = REDACTOR.redact(text)
    return shown if len(shown) <= MAX_LOGGED_CONTENT else shown[:MAX_LOGGED_CONTENT] + "... (cut)"
