"""The operator's side of the sandbox: how tests and people configure and observe it.

``admin_views`` is the loopback-only JSON admin API under ``/_sandbox/`` (fault knobs, request
counters, signing-key rotation, run-time client registration, the record of issued secrets);
``registrations`` reads clients and accounts from a JSON or TOML file or the admin API's JSON.
The knob values themselves (``faults``) and the counters (``request_stats``) are foundation
modules at the package root, because the OAuth and web endpoints consult them too.

May import: ``oauth`` and the package's foundation modules (``sandbox_errors``, ``settings``,
``faults``, ``request_stats``). Never ``web`` or ``process``.
"""
