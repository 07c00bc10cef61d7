"""Remittances: Search Remittance Summary and Get Remittance, answered with ``PaymentReconciliation``.

Search Remittance Summary (``search_remittance_summary_endpoint``) is a POST form, as Healthcode
documents it: ``insurerIdentifier`` mandatory, ``page`` (default 1), ``count`` (default 10, at
most 100) and ``_sort`` (``createdOn`` or ``-createdOn``). It pages the way Healthcode's examples
show: a ``collection`` Bundle with ``total`` and ``meta.tag`` codes ``count``, ``page`` and
``maxRecords`` (the value in ``display``), and no links. A page past the end is empty.

Get Remittance (``get_remittance_endpoint``): ``GET <endpoint>/<id>``, one remittance or 404.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .fhir_answers import bundle, fhir_response, outcome_response
from .form_fields import FieldError, form_fields, one_of, page_and_count
from .made_up_records import INSURERS, REMITTANCES
from .site_gate import Caller, api_route

blueprint = Blueprint("remittance_api", __name__)

SORTS = ("createdon", "-createdon")


@api_route(blueprint, "search_remittance_summary_endpoint", "", ["POST"])
def search_remittance_summary(caller: Caller) -> Response:
    """One page of the insurer's remittances, oldest first unless ``_sort=-createdOn``."""
    try:
        fields = form_fields()
        insurer = one_of(fields, "insurerIdentifier", INSURERS, "PaymentReconciliation")
        page, count = page_and_count(fields, "PaymentReconciliation")
        sort = one_of(fields, "_sort", SORTS, "PaymentReconciliation") if fields.get("_sort") else SORTS[0]
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
        return outcome_response(404, "not-found", "No remittance has this id.", "MSG_NOT_FOUND",
                                "Resource not found", ["PaymentReconciliation"])
    return fhir_response(found)
