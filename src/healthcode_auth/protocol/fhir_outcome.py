"""FHIR ``OperationOutcome``: how Healthcode's APIs say what went wrong (and, for a DELETE, that it worked).

Healthcode documents each issue's ``severity`` (error, fatal, information), ``code``,
``details.coding[].code`` / ``.display`` (``MSG_DATE_FORMAT``, "Invalid date format"),
``diagnostics`` and ``location``, with ``expression`` in its example. An error message is built from
at most :data:`MAX_ISSUES` issues, each text at most :data:`MAX_TEXT` characters with its control
characters escaped. An answer that is not an OperationOutcome is never quoted: it may hold patient
data; the status and its reason phrase say enough.

Healthcode's own example shows ``diagnostics`` quoting the value sent (``date-from :Unparseable date:
"2021-05-"``): a server may echo a patient's name or date of birth there, or in ``details.text``,
and error messages end up in output.xml, log.html and the console. So by default an issue keeps its
severity and code only from FHIR's value sets, the codes of ``details.coding`` only when they read
as codes (``MSG_DATE_FORMAT``: words joined by ``_``, never a number, date or lone word), their
displays never (a display may be a patient's name), and a ``location`` or ``expression`` only when it reads as a
field path (``dateOfbirth``, ``Coverage.insurer``, ``name[0].given``, a header such as
``SU-SiteId``: no value in brackets, no capitalised word alone but a resource type);
``diagnostics`` and ``details.text`` are withheld, and the message says when anything was
(:data:`WITHHELD`). ``content=True`` (an API call's
``log_content``) keeps them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from ..errors import escaped

MAX_ISSUES = 5
MAX_TEXT = 200
MAX_PARTS = 5  # codings, locations or expressions quoted per issue
WITHHELD = "(details withheld: they may quote the request; log_content=True shows them)"
# A field path: lowerCamel fields (a resource type first), each with an optional numeric index.
_FIELD_PATH = re.compile(
    r"(?:[A-Z][A-Za-z0-9_]*(?:\[\d{1,4}\])?\.)?[a-z][A-Za-z0-9_-]*(?:\[\d{1,4}\])?"
    r"(?:\.[a-z][A-Za-z0-9_-]*(?:\[\d{1,4}\])?)*"
)
_CODE = re.compile(r"[A-Za-z]+(?:_[A-Za-z]+)+")  # MSG_DATE_FORMAT: words joined by '_', no digit, no lone word
# A location that is a header Healthcode reads, or a FHIR resource type alone (others are lowerCamel paths).
_NAMED_PLACES = frozenset(
    {
        "SU-SiteId",
        "HC-API-Version",
        "Authorization",
        "Patient",
        "Coverage",
        "Practitioner",
        "PractitionerRole",
        "Appointment",
        "Organization",
        "Bundle",
        "Claim",
        "ClaimResponse",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "PaymentReconciliation",
        "Invoice",
        "Encounter",
        "Location",
        "Schedule",
        "Slot",
        "HealthcareService",
        "Parameters",
    }
)
SEVERITIES = frozenset({"fatal", "error", "warning", "information", "success"})  # FHIR IssueSeverity
ISSUE_TYPES = frozenset(
    {  # FHIR IssueType
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "limited-filter",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
        "success",
    }
)


@dataclass(frozen=True)
class OutcomeIssue:
    """One issue of an OperationOutcome, each text bounded and escaped (safe to print)."""

    severity: str | None = None
    code: str | None = None
    details: tuple[str, ...] = ()  # "MSG_DATE_FORMAT 'Invalid date format'", or details.text
    diagnostics: str | None = None
    location: tuple[str, ...] = ()  # location, then expression
    withheld: bool = False  # diagnostics, details.text or a location that may quote the request, left out

    def __str__(self) -> str:
        head = "/".join(part for part in (self.severity, self.code) if part) or "issue"
        text = head + "".join(f" {detail}" for detail in self.details)
        if self.diagnostics:
            text += f": {self.diagnostics}"
        if self.location:
            text += f" (at {', '.join(self.location)})"
        return text


def is_outcome(body: object) -> bool:
    """True for a JSON object whose ``resourceType`` is ``OperationOutcome``."""
    return isinstance(body, Mapping) and body.get("resourceType") == "OperationOutcome"


def outcome_issues(body: object, *, content: bool = False) -> tuple[OutcomeIssue, ...]:
    """The issues of an OperationOutcome (at most :data:`MAX_ISSUES`); none for anything else.
    Without ``content``, what may quote the request is withheld (see the module's documentation)."""
    if not is_outcome(body):
        return ()
    assert isinstance(body, Mapping)
    issues = body.get("issue")
    if not isinstance(issues, Sequence) or isinstance(issues, str):
        return ()
    return tuple(_issue(item, content) for item in issues[:MAX_ISSUES] if isinstance(item, Mapping))


def is_information(body: object) -> bool:
    """An OperationOutcome whose every issue is ``information`` (a DELETE's success)."""
    issues = outcome_issues(body)
    return bool(issues) and all(issue.severity == "information" for issue in issues)


def reason_phrase(status: int) -> str:
    """``404 Not Found``: the status and its standard reason phrase (never the server's own text)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def describe_outcome(status: int, body: object, *, content: bool = False) -> str:
    """``HTTP 400 Bad Request: error/value MSG_DATE_FORMAT 'Invalid date format' (at dateOfbirth)``:
    the status, and the OperationOutcome's issues when the answer is one (never any other body);
    their diagnostics only with ``content``."""
    issues = outcome_issues(body, content=content)
    text = f"HTTP {reason_phrase(status)}"
    if issues:
        text += ": " + "; ".join(str(issue) for issue in issues)
        total = _issue_count(body)
        if total > len(issues):
            text += f"; and {total - len(issues)} more issue(s)"
        if any(issue.withheld for issue in issues):
            text += f" {WITHHELD}"
    return text


def _issue_count(body: object) -> int:
    issues = body.get("issue") if isinstance(body, Mapping) else None
    return len(issues) if isinstance(issues, list) else 0


def _issue(item: Mapping[str, object], content: bool) -> OutcomeIssue:
    details: list[str] = []
    withheld = False
    detail = item.get("details")
    if isinstance(detail, Mapping):
        codings = detail.get("coding")
        for coding in codings[:MAX_PARTS] if isinstance(codings, list) else ():
            if isinstance(coding, Mapping):
                code, display = _text(coding.get("code")), _text(coding.get("display"))
                if not content and code and not _CODE.fullmatch(code):
                    withheld, code = True, None
                if not content and display:  # "Invalid date format", or a patient's name: never told apart
                    withheld, display = True, None
                shown = " ".join(part for part in (code, f"'{display}'" if display else None) if part)
                if shown:
                    details.append(shown)
        text = _text(detail.get("text"))
        if text and not details:
            if content:
                details.append(f"'{text}'")
            withheld = not content
    places = [*_texts(item.get("location")), *_texts(item.get("expression"))]
    if not content:
        paths = [
            place for place in places if place in _NAMED_PLACES or (len(place) <= 100 and _FIELD_PATH.fullmatch(place))
        ]
        withheld, places = withheld or len(paths) < len(places), paths
    diagnostics = _text(item.get("diagnostics"))
    if diagnostics and not content:
        withheld, diagnostics = True, None
    severity, code = _text(item.get("severity")), _text(item.get("code"))
    if not content and ((severity and severity not in SEVERITIES) or (code and code not in ISSUE_TYPES)):
        withheld = True
        severity, code = (severity if severity in SEVERITIES else None), (code if code in ISSUE_TYPES else None)
    return OutcomeIssue(
        severity=severity,
        code=code,
        details=tuple(details),
        diagnostics=diagnostics,
        location=tuple(places[:MAX_PARTS]),
        withheld=withheld,
    )


def _text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return escaped(text, MAX_TEXT) if text else None


def _texts(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [text for item in values[:MAX_PARTS] if (text := _text(item))]
