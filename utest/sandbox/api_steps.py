"""Client-side steps for the tests of the sandbox's API side: the discovery document, the headers.

Like ``flows``, written against Healthcode's documented protocol with httpx, not against
healthcode_auth, so these tests judge the sandbox on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from healthcode_sandbox import Sandbox

from .flows import HTTP

# One call of each API, with the fields it needs: (method, discovery key, path suffix, httpx arguments).
EVERY_ENDPOINT: list[tuple[str, str, str, dict[str, Any]]] = [
    ("POST", "find_member_endpoint", "", {"data": {"insurerIdentifier": "bup", "lastName": "Testperson"}}),
    ("POST", "search_remittance_summary_endpoint", "", {"data": {"insurerIdentifier": "bup"}}),
    ("GET", "get_remittance_endpoint", "/RM00001", {}),
    ("GET", "search_practitioner_endpoint", "", {"params": {"name": "ada"}}),
    ("DELETE", "delete_appointment_endpoint", "/AP00001", {}),
    ("GET", "codes_valueset_namespace", "/insurer", {}),
]
ENDPOINT_IDS = [key.removesuffix("_endpoint").removesuffix("_namespace") for _, key, _, _ in EVERY_ENDPOINT]


def discovery_document(sandbox: Sandbox) -> dict[str, str]:
    response = HTTP.get(sandbox.api_discovery_url)
    assert response.status_code == 200, response.text
    document: dict[str, str] = response.json()
    return document


def issue(response: httpx.Response) -> dict[str, Any]:
    """The only issue of an OperationOutcome answer (asserting that it is one)."""
    assert response.headers["content-type"].startswith("application/fhir+json"), response.headers
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert len(body["issue"]) == 1
    only: dict[str, Any] = body["issue"][0]
    return only


def message_code(response: httpx.Response) -> str:
    """``details.coding[0].code`` of the OperationOutcome answer."""
    return str(issue(response)["details"]["coding"][0]["code"])


@dataclass
class Api:
    """A robot's calls to the sandbox's APIs: a bearer token, a site id and an API version."""

    sandbox: Sandbox
    token: str
    site_id: str | None = "HC00ABC"
    version: str | None = "1"

    def headers(self, **changes: str | None) -> dict[str, str]:
        """Authorization, SU-SiteId and HC-API-Version (a change of None leaves that header out)."""
        headers: dict[str, str | None] = {
            "Authorization": f"Bearer {self.token}",
            "SU-SiteId": self.site_id,
            "HC-API-Version": self.version,
            "Accept": "application/fhir+json, application/json",
        }
        for name, value in changes.items():
            headers[name.replace("_", "-")] = value
        return {name: value for name, value in headers.items() if value is not None}

    def url(self, key: str, suffix: str = "") -> str:
        return discovery_document(self.sandbox)[key] + suffix

    def call(
        self, method: str, key: str, suffix: str = "", headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One call of the API named ``key`` in the discovery document, with the three headers."""
        return HTTP.request(
            method, self.url(key, suffix), headers=self.headers() if headers is None else headers, **kwargs
        )

    def find_member(self, **fields: str) -> httpx.Response:
        return self.call("POST", "find_member_endpoint", data=fields)

    def search_remittances(self, **fields: str) -> httpx.Response:
        return self.call("POST", "search_remittance_summary_endpoint", data=fields)

    def search_practitioners(self, **params: str) -> httpx.Response:
        return self.call("GET", "search_practitioner_endpoint", params=params)
