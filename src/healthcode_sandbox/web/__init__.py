"""The supervisor's side of the sandbox: the HTML sign-in pages a person (or a test) answers.

``signin_views`` is ``/authorize`` (GET shows the form, POST takes the supervisor's answer),
``pages`` renders the Jinja ``templates/`` (sign-in, one-time code, error), and ``supervisor``
is the browserless :class:`Supervisor` that fills those same pages in over plain HTTP for
pytest tests. The template folder's path is ``pages.TEMPLATE_FOLDER``.

May import: ``oauth`` and the package's foundation modules (``sandbox_errors``, ``settings``,
``faults``, ``request_stats``). Never ``admin`` or ``process``.
"""
