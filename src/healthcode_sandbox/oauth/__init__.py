"""The OAuth 2.0 side of the sandbox: what a client (and a resource server) talks to.

Authlib's authorization server with its grants, PKCE and client authentication
(``authorization_server``, ``grants``), revocation, the in-memory records (``models``,
``memory_store``), RS256 signing keys and the JWT access tokens signed with them
(``signing_keys``, ``access_tokens_issued``), the discovery document (``metadata_document``),
the machine-facing endpoints (``endpoints``: discovery, JWKS, /token, /revoke), the protected
``/api/v1/whoami`` API (``protected_resource``), and the per-sandbox state every view reaches
through ``app_context``, plus the JSON response shapes (``json_responses``).

May import: the package's foundation modules (``sandbox_errors``, ``settings``, ``faults``,
``request_stats``) only. Never ``web``, ``admin`` or ``process``: they build on this.
"""
