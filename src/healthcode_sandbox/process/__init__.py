"""The running sandbox: how the pieces become one process that serves HTTP.

``flask_app`` assembles one Flask app per sandbox from the ``oauth``, ``web`` and ``admin``
blueprints (size limits, error shapes); ``server`` is :class:`Sandbox`, which serves that app on
Werkzeug's threaded WSGI server in a background thread and is the Python side of the admin API;
``request_log`` logs requests without query strings; ``command_line`` is ``python -m
healthcode_sandbox`` and ``healthcode-auth sandbox`` (exported as ``healthcode_sandbox.main``).

May import: ``oauth``, ``web``, ``admin`` and the package's foundation modules
(``sandbox_errors``, ``settings``, ``faults``, ``request_stats``). Nothing in the sandbox
imports ``process`` except the package's public face (``__init__``, ``__main__``,
``pytest_plugin``).
"""
