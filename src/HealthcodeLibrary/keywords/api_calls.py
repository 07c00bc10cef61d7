"""Keywords that call Healthcode's APIs as Healthcode documents them (``healthcode_auth.api_client``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from robot.api.deco import keyword

from healthcode_auth.errors import ApiArgumentError
from healthcode_auth.protocol.api_result import ApiResult

from ..base import LibraryComponent

if TYPE_CHECKING:  # the API client is loaded by the first API keyword: a run that only gets a token never needs it
    from healthcode_auth.api_client import HealthcodeApi


class _NoPath:
    """``path`` not given (``${None}`` given is a mistake: an id that did not come, never the whole list)."""

    def __repr__(self) -> str:
        return "(none)"

    __str__ = __repr__


NO_PATH: Any = _NoPath()


class ApiCallKeywords(LibraryComponent):
    _api: HealthcodeApi | None = None

    @property
    def api(self) -> HealthcodeApi:
        if self._api is None or self._api.session is not self.session:
            from healthcode_auth.api_client import HealthcodeApi

            self._api = HealthcodeApi(self.session)
        return self._api

    @keyword("Get Healthcode API Endpoint", tags=["api"])
    def get_healthcode_api_endpoint(self, name: str) -> str:
        """Returns the URL of the Healthcode API ``name`` from Healthcode's API discovery document.

        ``name`` is the document's key, with or without its ``_endpoint`` suffix: ``find_member``
        and ``find_member_endpoint`` are the same API. An unknown name fails, listing the names the
        document has. Healthcode may move an API without notice: look it up every run, never copy
        the URL into a suite (`Call Healthcode API` does both steps).

        The document is fetched once per run (and kept beside the token in the token store); see
        `Calling Healthcode's APIs`.

        Example:
        | ${url} =    `Get Healthcode API Endpoint`    find_member
        | Log    Find Member is at ${url}
        """
        return self.api.endpoint(name)

    @keyword("Get Healthcode API Names", tags=["api"])
    def get_healthcode_api_names(self) -> list[str]:
        """Returns the names of every API in Healthcode's API discovery document, sorted, without
        their ``_endpoint`` suffix.

        Example:
        | ${names} =    `Get Healthcode API Names`
        | Should Contain    ${names}    find_member
        """
        return list(self.api.endpoints())

    @keyword("Call Healthcode API", tags=["api"])
    def call_healthcode_api(
        self,
        name: str,
        method: str = "GET",
        path: Any = NO_PATH,
        json: Any = None,
        all_pages: bool = False,
        log_content: bool | None = None,
        fields: dict[str, Any] | None = None,
        **named_fields: Any,
    ) -> ApiResult:
        """Calls the Healthcode API ``name`` and returns its answer, the parsed JSON.

        The API's URL comes from Healthcode's API discovery document (``name`` as in
        `Get Healthcode API Endpoint`). Every call carries the current access token, ``SU-SiteId``
        (the library's ``site_id``) and ``HC-API-Version`` (``api_version``), and goes only to the
        hosts the discovery document names.

        | =Argument= | =Description= |
        | ``name`` | The API, e.g. ``find_member`` or ``search_remittance_summary``. |
        | ``method`` | ``GET`` (default), ``POST``, ``PUT``, ``PATCH``, ``DELETE`` or ``HEAD``. |
        | ``path`` | An id appended to the API's URL as one path segment (``path=RM00123``); not empty, ``${None}``, ``.`` or ``..`` (an id that did not come never reaches the whole list). |
        | ``json`` | A FHIR resource (a dictionary, not JSON text) to send as ``application/fhir+json``, with ``POST``, ``PUT`` or ``PATCH`` and no fields. |
        | ``all_pages`` | Read every page of a list and return one Bundle with all its entries. |
        | ``log_content`` | Also log what was sent and what came back: *patient data*, see `No patient data in the log`. Default: the library's ``log_api_content``. |
        | ``fields`` | The API's fields as a dictionary (for a field named like one of these arguments). |
        | ``**named_fields`` | The API's fields as ``name=value``: query parameters for ``GET``, ``DELETE`` and ``HEAD``, a form body (``application/x-www-form-urlencoded``) for ``POST``, ``PUT`` and ``PATCH``. A list value is sent comma-separated. |

        What happens on the way:
        - a 301 or 302 (303, 307, 308) to another address of Healthcode's API is followed once,
          with the headers, and the discovery document is fetched again; a redirect anywhere else
          fails and nothing is sent there;
        - a 404 makes the library fetch the discovery document again; if the API has moved, it
          is called once at its new address;
        - a 5xx answer to a ``GET`` is tried again twice (0.5 s, then 1 s later), all within the
          library's ``timeout``; other methods are not repeated (they may have taken effect);
        - a 4xx or a lasting 5xx fails with what Healthcode's ``OperationOutcome`` says (severity,
          code, display, and a location that reads as a field path), or with the status alone:
          never the answer's body. Its diagnostics may quote what was sent (a patient's name),
          so they are withheld unless ``log_content=True``.

        The answer is a dictionary that Robot Framework logs as a summary
        (``<Healthcode find_member: 200 OK, Bundle of 3 Coverage>``), not its contents; index into
        it as usual: ``${result}[entry][0][resource][status]``, ``${result}[total]``. Assign it
        and its parts to ``${...}``, never ``&{...}``: Robot Framework makes a plain copy for
        ``&{...}``, which it logs in full (see `No patient data in the log`).

        Example:
        | ${members} =    `Call Healthcode API`    find_member    method=POST    insurerIdentifier=bup    lastName=${LAST_NAME}
        | Should Be Equal As Integers    ${members}[total]    1
        | ${remittances} =    `Call Healthcode API`    search_remittance_summary    method=POST    insurerIdentifier=bup    all_pages=True
        | ${remittance} =    `Call Healthcode API`    get_remittance    path=${remittances}[entry][0][resource][id]
        | `Call Healthcode API`    delete_appointment    method=DELETE    path=AP00001
        """
        if path is None or path == "None":
            raise ApiArgumentError(
                "The path (an id appended to the API's URL) is ${None}: give the id of one "
                "resource, or leave path out to call the API's own address."
            )
        if fields is not None and not isinstance(fields, dict):
            raise ApiArgumentError(
                "'fields' is a dictionary of the API's fields: use &{fields}, or give them as name=value."
            )
        both = set(fields or {}) & set(named_fields)
        if both:
            raise ApiArgumentError(
                f"The field(s) {', '.join(sorted(both))} are given twice: in 'fields' and as "
                f"name=value. Give each once."
            )
        return self.api.call(
            name,
            method,
            fields={**(fields or {}), **named_fields},
            json=json,
            path=None if path is NO_PATH else path,
            all_pages=all_pages,
            log_content=log_content,
        )
