"""The supervisor portal: supervisors authorise the robots from any device, at the registered redirect URI.

A small web application, a front end beside the command line and the keywords, over the core
(``healthcode_auth``) only: a landing page with one button, the sign-in at Healthcode
(Authorization Code with PKCE, its state and verifier in a sealed cookie), the callback at the
redirect URI's path, and a status page with "Sign the robots out". ``healthcode-auth portal``
serves it (:mod:`.portal_server`); ``docs/portal.md`` tells how to deploy it.

Layout: :mod:`.public_address` (where supervisors reach it, from the redirect URI),
:mod:`.sign_in_cookie` (the pending sign-in, sealed, used once), :mod:`.portal_state` (what the
pages share), :mod:`.app` (the Flask
application, its headers and error pages), :mod:`.views` (the pages), :mod:`.portal_server` (cheroot, TLS,
trusted proxies, the access log).
"""

from __future__ import annotations

from .app import create_app
from .public_address import PublicAddress

__all__ = ["PublicAddress", "create_app"]
