"""Find Member (``find_member_endpoint``): a membership enquiry, answered with FHIR ``Coverage``.

As Healthcode documents it: POST with an ``application/x-www-form-urlencoded`` body,
``insurerIdentifier`` mandatory, the other fields optional filters: ``lastName`` and
``firstName`` (case-insensitive, matching the start of the name, so an initial works),
``dateOfbirth`` (so spelt in Healthcode's example; ``YYYY-MM-DD``, else ``MSG_DATE_FORMAT``),
``membershipNumber``, ``sex``, ``postCode``, ``groupId``, ``policyActiveOn`` (a date). Other
fields are ignored. The answer is a ``searchset`` Bundle, empty when nobody matches.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response

from .fhir_answers import bundle, fhir_response, urn_for
from .form_fields import FieldError, a_date, form_fields, one_of
from .made_up_records import INSURERS, MEMBERS, Member
from .site_gate import Caller, api_route

blueprint = Blueprint("membership_api", __name__)


@api_route(blueprint, "find_member_endpoint", "", ["POST"])
def find_member(caller: Caller) -> Response:
    """The members of the insurer that match every given field."""
    try:
        fields = form_fields()
        insurer = one_of(fields, "insurerIdentifier", INSURERS, "Coverage")
        birth_date = a_date(fields, "dateOfbirth", "Coverage")
        a_date(fields, "policyActiveOn", "Coverage")  # every made-up policy is active 2020-2099
    except FieldError as error:
        return error.response
    found = [m for m in MEMBERS if m.insurer == insurer and _matches(m, fields, birth_date)]
    entries = [{"fullUrl": urn_for(f"Coverage/CV-{m.membership_number}"), "resource": m.coverage()} for m in found]
    return fhir_response(bundle("searchset", entries, len(entries)))


def _matches(member: Member, fields: Mapping[str, str], birth_date: str | None) -> bool:
    def given(name: str) -> str:
        return fields.get(name, "").strip().lower()

    def squeezed(text: str) -> str:
        return text.replace(" ", "").lower()

    checks = (
        member.family.lower().startswith(given("lastName")),
        member.given.lower().startswith(given("firstName")),
        birth_date in (None, member.birth_date),
        given("membershipNumber") in ("", member.membership_number.lower()),
        given("sex") in ("", member.sex),
        squeezed(fields.get("postCode", "")) in ("", squeezed(member.postcode)),
        given("groupId") in ("", member.group_id.lower()),
    )
    return all(checks)
