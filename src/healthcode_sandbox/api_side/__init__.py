"""The API side of the sandbox: Healthcode's APIs as its public documentation describes them.

The API discovery document (``api_catalogue``), the checks every API call passes (``site_gate``:
bearer token, ``SU-SiteId``, ``HC-API-Version``, the ``api_*`` fault knobs, the call record),
``OperationOutcome`` and FHIR JSON answers (``fhir_answers``), the made-up data
(``made_up_records``), and one module per group of endpoints: Find Member
(``membership_api``), remittances (``remittance_api``), practitioners and reference code sets
(``directory_api``), appointments (``appointment_api``).

May import: the package's foundation modules and ``oauth`` (the token validator, the state).
Never ``web``, ``admin`` or ``process``: ``process`` builds on this.
"""
