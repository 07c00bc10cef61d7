"""Building blocks for fake SSO answers in unit tests (real servers live in healthcode_sandbox)."""


def discovery_document(issuer: str, /, **extra):
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }
    document.update(extra)
    return {k: v for k, v in document.items() if v is not None}


def signing_key(kid: str = "key-1"):
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


def jwks(*keys):
    return {"keys": [key.as_dict(private=False) for key in keys]}


def sign(key, claims, **header):
    from joserfc import jwt

    header = {"alg": "RS256", "kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode({k: v for k, v in header.items() if v is not None}, claims, key)
