"""Reading an API call's fields: a form body for the POST search APIs, query parameters for GET.

Every refusal is an ``OperationOutcome`` naming the field, never echoing its value (a search's
values are patients' data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from flask import Response, request

from .fhir_answers import outcome_response

FORM_TYPE = "application/x-www-form-urlencoded"
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_COUNT = 100


class FieldError(Exception):
    """A field is missing or malformed; ``response`` is the OperationOutcome to answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def form_fields() -> Mapping[str, str]:
    """The POST body's fields; a body that is not a form is refused with 415 ``not-supported``."""
    if request.mimetype not in (FORM_TYPE, "") or (not request.mimetype and request.get_data(cache=True)):
        raise FieldError(outcome_response(415, "not-supported", f"Send the fields as {FORM_TYPE}, as "
                                          "Healthcode documents for this API.", "MSG_CONTENT_TYPE",
                                          "Unsupported content type"))
    return request.form


def required(fields: Mapping[str, str], name: str, resource: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise FieldError(outcome_response(400, "required", f"{name} is mandatory.", "MSG_REQUIRED",
                                          "Mandatory parameter missing", [f"{resource}.{name}"]))
    return value


def one_of(fields: Mapping[str, str], name: str, allowed: tuple[str, ...], resource: str) -> str:
    value = required(fields, name, resource)
    if value.lower() not in allowed:
        raise FieldError(outcome_response(400, "code-invalid", f"{name} is not a known value; known: "
                                          f"{', '.join(allowed)}.", "MSG_INVALID_VALUE", "Invalid value",
                                          [f"{resource}.{name}"]))
    return value.lower()


def a_date(fields: Mapping[str, str], name: str, resource: str) -> str | None:
    """A ``YYYY-MM-DD`` field, or None when absent; else Healthcode's ``MSG_DATE_FORMAT`` error."""
    value = fields.get(name, "").strip()
    if not value:
        return None
    if DATE_PATTERN.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise FieldError(outcome_response(400, "value", f"{name} :Unparseable date (expected YYYY-MM-DD).",
                                      "MSG_DATE_FORMAT", "Invalid date format", [resource]))


def page_and_count(fields: Mapping[str, str], resource: str, default_count: int = 10) -> tuple[int, int]:
    """``page`` (1-based, default 1) and ``count`` (1-100, default 10)."""
    page = _whole(fields, "page", 1, 1, 1_000_000, resource)
    return page, _whole(fields, "count", default_count, 1, MAX_COUNT, resource)


def _whole(fields: Mapping[str, str], name: str, default: int, low: int, high: int, resource: str) -> int:
    text = fields.get(name, "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    raise FieldError(outcome_response(400, "value", f"{name} must be a whole number from {low} to {high}.",
                                      "MSG_INVALID_VALUE", "Invalid value", [f"{resource}.{name}"]))
