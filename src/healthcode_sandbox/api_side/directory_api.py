"""Directory-like GET APIs: Search Practitioner and the reference code sets.

Search Practitioner (``search_practitioner_endpoint``): GET with query parameters ``name``
(case-insensitive, any part of the name), ``_sort`` (``name`` or ``-name``), ``page`` and
``count`` (default 10, at most 100). It pages the FHIR way: a ``searchset`` Bundle with
``total`` and ``link`` entries ``self`` and, while more remain, ``next`` (absolute URLs with
the same parameters and the next page), so clients meet both paging styles.

Code sets (``codes_valueset_namespace``): ``GET <namespace>/<set name>`` answers a FHIR
``ValueSet`` with its ``expansion``; sets ``insurer`` and ``administrative-gender``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from .fhir_answers import bundle, fhir_response, outcome_response, urn_for
from .form_fields import FieldError, one_of, page_and_count
from .made_up_records import CODE_SETS, CODE_SYSTEMS, PRACTITIONERS
from .site_gate import Caller, api_route

blueprint = Blueprint("directory_api", __name__)

SORTS = ("name", "-name")


@api_route(blueprint, "search_practitioner_endpoint", "", ["GET"])
def search_practitioner(caller: Caller) -> Response:
    """One page of the practitioners whose name contains ``name``, with FHIR links."""
    fields = request.args
    try:
        page, count = page_and_count(fields, "Practitioner")
        sort = one_of(fields, "_sort", SORTS, "Practitioner") if fields.get("_sort") else ""
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
        return outcome_response(404, "not-found", f"No code set by that name; known: {', '.join(sorted(CODE_SETS))}.",
                                "MSG_NOT_FOUND", "Resource not found", ["ValueSet"])
    system = f"{CODE_SYSTEMS}/{set_name}"
    value_set = {
        "resourceType": "ValueSet",
        "id": set_name,
        "url": caller.url("codes_valueset_namespace", f"/{set_name}"),
        "status": "active",
        "expansion": {"total": len(codes), "contains": [{"system": system, **code} for code in codes]},
    }
    return fhir_response(value_set)


def _full_name(practitioner: dict[str, Any]) -> str:
    name = practitioner["name"][0]
    return " ".join([*name["given"], name["family"]])


def _page_url(caller: Caller, kept: dict[str, str], page: int, count: int) -> str:
    query = urlencode({**kept, "page": page, "count": count})
    return f"{caller.url('search_practitioner_endpoint')}?{query}"
