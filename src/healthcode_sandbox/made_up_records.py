"""The sandbox's data: made up, and obviously so.

Every person is called "Testperson" or "Testpractitioner" (or the leak-scan patient below), was
born in 1900-1910, lives at a ``ZZ99`` postcode and has a membership number starting ``ZZ``.
Insurers appear by their Healthcode identifiers only (``bup``, ``slh``...), never by name.

``LEAK_SCAN_MEMBER`` is the one patient tests search for in every output file to prove that no
patient data was logged: Find Member returns her for ``lastName=Quarrendon-Fakename``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

IDENTIFIER_SYSTEM = "https://sandbox.healthcode.invalid/fhir/NamingSystem"
CODE_SYSTEMS = "https://sandbox.healthcode.invalid/fhir/CodeSystem"
# The insurer identifiers Healthcode's remittance page lists, and one for tests only.
INSURERS = ("bup", "bui", "ppp", "nuh", "slh", "cin", "tih", "wpa", "pzo", "zzz")


@dataclass(frozen=True)
class Member:
    """A made-up insured person."""

    insurer: str
    given: str
    family: str
    sex: str
    birth_date: str
    membership_number: str
    postcode: str = "ZZ99 9ZZ"
    group_id: str = "ZZGRP01"

    def coverage(self) -> dict[str, Any]:
        """The member as a FHIR ``Coverage`` with the patient contained."""
        return {
            "resourceType": "Coverage",
            "id": f"CV-{self.membership_number}",
            "status": "active",
            "identifier": [{"system": f"{IDENTIFIER_SYSTEM}/membership-number", "value": self.membership_number}],
            "contained": [{
                "resourceType": "Patient",
                "id": "patient",
                "name": [{"family": self.family, "given": [self.given]}],
                "gender": self.sex,
                "birthDate": self.birth_date,
                "address": [{"postalCode": self.postcode}],
            }],
            "subscriberId": self.membership_number,
            "beneficiary": {"reference": "#patient", "display": f"{self.given} {self.family}"},
            "payor": [{"identifier": {"value": self.insurer}, "display": f"Sandbox insurer ({self.insurer})"}],
            "class": [{"type": {"coding": [{"code": "group"}]}, "value": self.group_id}],
            "period": {"start": "2020-01-01", "end": "2099-12-31"},
        }  # fmt: skip


LEAK_SCAN_MEMBER = Member("bup", "Ottoline", "Quarrendon-Fakename", "female", "1901-02-03", "ZZ9876543")
MEMBERS = (
    LEAK_SCAN_MEMBER,
    Member("bup", "Alice", "Testperson", "female", "1902-03-04", "ZZ0000101"),
    Member("bup", "Bertram", "Testperson", "male", "1903-04-05", "ZZ0000102"),
    Member("bup", "Cecily", "Testperson", "female", "1904-05-06", "ZZ0000103"),
    Member("bup", "Sam", "Gray-Testperson", "male", "1905-06-07", "ZZ0000104"),
    Member("slh", "Dora", "Testperson", "female", "1906-07-08", "ZZ0000201"),
    Member("ppp", "Edgar", "Testperson", "male", "1907-08-09", "ZZ0000301"),
)


def remittance(number: int, insurer: str) -> dict[str, Any]:
    """A made-up remittance summary as a FHIR ``PaymentReconciliation`` (id ``RM000nn``)."""
    created = date(2025, 1, 1) + timedelta(days=number)
    return {
        "resourceType": "PaymentReconciliation",
        "id": f"RM{number:05d}",
        "status": "active",
        "created": f"{created.isoformat()}T09:00:00Z",
        "paymentDate": (created + timedelta(days=7)).isoformat(),
        "paymentAmount": {"value": round(100 + number * 10.5, 2), "currency": "GBP"},
        "paymentIdentifier": {"system": f"{IDENTIFIER_SYSTEM}/payment-reference", "value": f"ZZPAY{number:05d}"},
        "paymentIssuer": {"identifier": {"value": insurer}, "display": f"Sandbox insurer ({insurer})"},
        "requestor": {"display": "Sandbox Practice Testperson"},
        "outcome": "complete",
        "disposition": "Made-up remittance for tests",
    }


# 25 remittances from bup (3 pages of 10), 3 from slh.
REMITTANCES = tuple(remittance(n, "bup") for n in range(1, 26)) + tuple(remittance(n, "slh") for n in range(26, 29))

_GIVEN = ("Ada", "Basil", "Clara", "Desmond", "Edith", "Felix", "Greta", "Horace", "Iris", "Jasper", "Kitty",
          "Lionel", "Mabel", "Nigel", "Olive", "Percy", "Queenie", "Rupert", "Sybil", "Tobias", "Ursula",
          "Vernon", "Winifred")  # fmt: skip


def practitioner(number: int, given: str) -> dict[str, Any]:
    """A made-up practitioner as a FHIR ``Practitioner`` (id ``PR000nn``)."""
    return {
        "resourceType": "Practitioner",
        "id": f"PR{number:05d}",
        "identifier": [{"system": f"{IDENTIFIER_SYSTEM}/practitioner", "value": f"ZZP{number:05d}"}],
        "active": True,
        "name": [{"family": "Testpractitioner", "given": [given], "prefix": ["Dr"]}],
        "address": [{"postalCode": "ZZ99 9ZZ"}],
    }


# 23 practitioners: 3 pages of 10.
PRACTITIONERS = tuple(practitioner(n, given) for n, given in enumerate(_GIVEN, start=1))

# Appointments AP00001-AP00020 exist (deleting one is not remembered: it can be deleted again).
APPOINTMENT_IDS = frozenset(f"AP{n:05d}" for n in range(1, 21))

CODE_SETS: dict[str, list[dict[str, str]]] = {
    "insurer": [{"code": code, "display": f"Sandbox insurer ({code})"} for code in INSURERS],
    "administrative-gender": [
        {"code": "male", "display": "Male"},
        {"code": "female", "display": "Female"},
        {"code": "other", "display": "Other"},
        {"code": "unknown", "display": "Unknown"},
    ],
}
