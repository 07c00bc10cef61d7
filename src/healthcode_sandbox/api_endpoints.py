"""Healthcode's APIs over the made-up data, in the shapes its public API documentation shows:
Find Member, Search Remittance Summary, Get Remittance, Search Practitioner, the code sets and
Delete Appointment (docs/sandbox.md, The API side, gives each one's fields and answers).

The two POST searches take a form, as Healthcode documents them. Search Remittance Summary pages
with ``meta.tag`` codes, as Healthcode's examples show; Search Practitioner pages the FHIR way, with
``link`` entries, so clients meet both styles. Every refusal names the field, never its value (a
search's values are patients' data). Deleting is not remembered: the sandbox's data never changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from .api_gate import Caller, api_route, bundle, fhir_response, outcome, urn_for
from .made_up_records import (
    APPOINTMENT_IDS,
    CODE_SETS,
    CODE_SYSTEMS,
    INSURERS,
    MEMBERS,
    PRACTITIONERS,
    REMITTANCES,
    Member,
)
from .oauth_endpoints import FORM_TYPE

blueprint = Blueprint("api", __name__)

DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_COUNT = 100


class FieldError(Exception):
    """A field is missing or malformed; ``response`` is the OperationOutcome to answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@api_route(blueprint, "find_member_endpoint", "", ["POST"])
def find_member(caller: Caller) -> Response:
    """The members of the insurer that match every given field."""
    try:
        fields = _form_fields()
        insurer = _one_of(fields, "insurerIdentifier", INSURERS, "Coverage")
        birth_date = _a_date(fields, "dateOfbirth", "Coverage")
        _a_date(fields, "policyActiveOn", "Coverage")  # every made-up policy is active 2020-2099
    except FieldError as error:
        return error.response
    found = [m for m in MEMBERS if m.insurer == insurer and _matches(m, fields, birth_date)]
    entries = [{"fullUrl": urn_for(f"Coverage/CV-{m.membership_number}"), "resource": m.coverage()} for m in found]
    return fhir_response(bundle("searchset", entries, len(entries)))


@api_route(blueprint, "search_remittance_summary_endpoint", "", ["POST"])
def search_remittance_summary(caller: Caller) -> Response:
    """One page of the insurer's remittances, oldest first unless ``_sort=-createdOn``."""
    try:
        fields = _form_fields()
        insurer = _one_of(fields, "insurerIdentifier", INSURERS, "PaymentReconciliation")
        page, count = _page_and_count(fields, "PaymentReconciliation")
        sorts = ("createdon", "-createdon")
        sort = _one_of(fields, "_sort", sorts, "PaymentReconciliation") if fields.get("_sort") else sorts[0]
    except FieldError as error:
        return error.response
    matching = [r for r in REMITTANCES if r["paymentIssuer"]["identifier"]["value"] == insurer]
    matching.sort(key=lambda r: str(r["created"]), reverse=sort == "-createdon")
    shown = matching[(page - 1) * count : page * count]
    tags = [
        {"code": "count", "display": str(count)},
        {"code": "page", "display": str(page)},
        {"code": "maxRecords", "display": str(len(matching))},
    ]
    entries = [{"fullUrl": caller.url("get_remittance_endpoint", f"/{r['id']}"), "resource": r} for r in shown]
    return fhir_response(bundle("collection", entries, len(matching), meta={"tag": tags}))


@api_route(blueprint, "get_remittance_endpoint", "/<remittance_id>", ["GET"])
def get_remittance(caller: Caller, remittance_id: str) -> Response:
    """The remittance with this id, or 404 ``not-found``."""
    found = next((r for r in REMITTANCES if r["id"] == remittance_id), None)
    if found is None:
        return _not_found("No remittance has this id.", "PaymentReconciliation")
    return fhir_response(found)


@api_route(blueprint, "search_practitioner_endpoint", "", ["GET"])
def search_practitioner(caller: Caller) -> Response:
    """One page of the practitioners whose name contains ``name``, with FHIR links."""
    fields = request.args
    try:
        page, count = _page_and_count(fields, "Practitioner")
        sort = _one_of(fields, "_sort", ("name", "-name"), "Practitioner") if fields.get("_sort") else ""
    except FieldError as error:
        return error.response
    wanted = fields.get("name", "").strip().lower()
    matching = [p for p in PRACTITIONERS if wanted in _full_name(p).lower()]
    if sort:
        matching.sort(key=_full_name, reverse=sort == "-name")
    shown = matching[(page - 1) * count : page * count]
    kept = {k: v for k, v in fields.items() if k in ("name", "_sort")}
    links = [{"relation": "self", "url": _page_url(caller, kept, page, count)}]
    if page * count < len(matching):
        links.append({"relation": "next", "url": _page_url(caller, kept, page + 1, count)})
    entries = [{"fullUrl": urn_for(f"Practitioner/{p['id']}"), "resource": p} for p in shown]
    return fhir_response(bundle("searchset", entries, len(matching), link=links))


@api_route(blueprint, "codes_valueset_namespace", "/<set_name>", ["GET"])
def code_set(caller: Caller, set_name: str) -> Response:
    """The ``ValueSet`` named ``set_name``, expanded, or 404 ``not-found``."""
    codes = CODE_SETS.get(set_name)
    if codes is None:
        return _not_found(f"No code set by that name; known: {', '.join(sorted(CODE_SETS))}.", "ValueSet")
    system = f"{CODE_SYSTEMS}/{set_name}"
    value_set = {
        "resourceType": "ValueSet",
        "id": set_name,
        "url": caller.url("codes_valueset_namespace", f"/{set_name}"),
        "status": "active",
        "expansion": {"total": len(codes), "contains": [{"system": system, **code} for code in codes]},
    }
    return fhir_response(value_set)


@api_route(blueprint, "delete_appointment_endpoint", "/<appointment_id>", ["DELETE"])
def delete_appointment(caller: Caller, appointment_id: str) -> Response:
    """200 with an ``information`` OperationOutcome, or 404 for an unknown appointment."""
    if appointment_id not in APPOINTMENT_IDS:
        return _not_found("No appointment has this id.", "Appointment")
    deleted = f"Appointment {appointment_id} was deleted."
    return outcome(200, "informational", deleted, "MSG_DELETED", "Resource deleted", ["Appointment"], "information")


def _not_found(diagnostics: str, resource: str) -> Response:
    return outcome(404, "not-found", diagnostics, "MSG_NOT_FOUND", "Resource not found", [resource])


def _matches(member: Member, fields: Mapping[str, str], birth_date: str | None) -> bool:
    def given(name: str) -> str:
        return fields.get(name, "").strip().lower()

    def squeezed(text: str) -> str:
        return text.replace(" ", "").lower()

    return all(
        (
            member.family.lower().startswith(given("lastName")),
            member.given.lower().startswith(given("firstName")),
            birth_date in (None, member.birth_date),
            given("membershipNumber") in ("", member.membership_number.lower()),
            given("sex") in ("", member.sex),
            squeezed(fields.get("postCode", "")) in ("", squeezed(member.postcode)),
            given("groupId") in ("", member.group_id.lower()),
        )
    )


def _full_name(practitioner: dict[str, Any]) -> str:
    name = practitioner["name"][0]
    return " ".join([*name["given"], name["family"]])


def _page_url(caller: Caller, kept: dict[str, str], page: int, count: int) -> str:
    return f"{caller.url('search_practitioner_endpoint')}?{urlencode({**kept, 'page': page, 'count': count})}"


def _form_fields() -> Mapping[str, str]:
    """The POST body's fields; a body that is not a form is refused with 415 ``not-supported``."""
    if request.mimetype not in (FORM_TYPE, "") or (not request.mimetype and request.get_data(cache=True)):
        problem = f"Send the fields as {FORM_TYPE}, as Healthcode documents for this API."
        raise FieldError(outcome(415, "not-supported", problem, "MSG_CONTENT_TYPE", "Unsupported content type"))
    return request.form


def _one_of(fields: Mapping[str, str], name: str, allowed: tuple[str, ...], resource: str) -> str:
    """A mandatory field's value, lower-cased, which must be one of ``allowed``."""
    value, location = fields.get(name, "").strip().lower(), [f"{resource}.{name}"]
    if not value:
        missing = "Mandatory parameter missing"
        raise FieldError(outcome(400, "required", f"{name} is mandatory.", "MSG_REQUIRED", missing, location))
    if value not in allowed:
        problem = f"{name} is not a known value; known: {', '.join(allowed)}."
        raise FieldError(outcome(400, "code-invalid", problem, "MSG_INVALID_VALUE", "Invalid value", location))
    return value


def _a_date(fields: Mapping[str, str], name: str, resource: str) -> str | None:
    """A ``YYYY-MM-DD`` field, or None when absent; else Healthcode's ``MSG_DATE_FORMAT`` error."""
    value = fields.get(name, "").strip()
    if not value:
        return None
    if DATE_PATTERN.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    problem = f"{name} :Unparseable date (expected YYYY-MM-DD)."
    raise FieldError(outcome(400, "value", problem, "MSG_DATE_FORMAT", "Invalid date format", [resource]))


def _page_and_count(fields: Mapping[str, str], resource: str) -> tuple[int, int]:
    """``page`` (1-based, default 1) and ``count`` (1-100, default 10)."""
    return _whole(fields, "page", 1, 1_000_000, resource), _whole(fields, "count", 10, MAX_COUNT, resource)


def _whole(fields: Mapping[str, str], name: str, default: int, high: int, resource: str) -> int:
    text = fields.get(name, "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit() and 1 <= int(text) <= high:
        return int(text)
    problem = f"{name} must be a whole number from 1 to {high}."
    raise FieldError(outcome(400, "value", problem, "MSG_INVALID_VALUE", "Invalid value", [f"{resource}.{name}"]))
