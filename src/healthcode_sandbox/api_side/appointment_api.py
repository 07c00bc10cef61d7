"""Delete Appointment (``delete_appointment_endpoint``): ``DELETE <endpoint>/<id>``.

As Healthcode's CRUD page says, a successful DELETE answers an ``OperationOutcome`` whose issue
has severity ``information``; the sandbox answers it with 200. Appointments ``AP00001`` to
``AP00020`` exist, other ids get 404 ``not-found``. Deleting is not remembered (the sandbox's
data never changes), so tests can delete the same appointment again.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .fhir_answers import fhir_response, operation_outcome, outcome_response
from .made_up_records import APPOINTMENT_IDS
from .site_gate import Caller, api_route

blueprint = Blueprint("appointment_api", __name__)


@api_route(blueprint, "delete_appointment_endpoint", "/<appointment_id>", ["DELETE"])
def delete_appointment(caller: Caller, appointment_id: str) -> Response:
    """200 with an ``information`` OperationOutcome, or 404 for an unknown appointment."""
    if appointment_id not in APPOINTMENT_IDS:
        return outcome_response(404, "not-found", "No appointment has this id.", "MSG_NOT_FOUND",
                                "Resource not found", ["Appointment"])
    outcome = operation_outcome("information", "informational", f"Appointment {appointment_id} was deleted.",
                                "MSG_DELETED", "Resource deleted", ["Appointment"])
    return fhir_response(outcome)
