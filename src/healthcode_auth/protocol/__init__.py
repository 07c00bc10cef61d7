"""The OAuth protocol as pure functions and frozen values.

PKCE (RFC 7636), the authorization request and its redirect (RFC 6749 4.1, RFC 9207), the token
endpoint's requests and answers (RFC 6749 4.1.3, 5, 6; RFC 7009), the discovery document (OIDC
Discovery 1.0, RFC 8414), JWT verification (RFC 9068, OIDC Core 3.1.3.7), the token and the one
rule for its status, and the URL rules (RFC 8252 7.3). No I/O and no configuration object here:
explicit values in, values or typed errors out (``docs/architecture.md`` places it among the floors).
"""
