"""Tests speak in configurations and metadata; the protocol functions take explicit values.

These adapters do what the client does (``healthcode_auth.client``), so protocol tests stay short.
"""

from healthcode_auth.protocol.authorization_request import start_authorization
from healthcode_auth.protocol.token_endpoint import (
    authorization_code_request,
    client_authentication,
    refresh_token_request,
)


def start(config, metadata):
    return start_authorization(
        authorization_endpoint=metadata.authorization_endpoint,
        issuer=metadata.issuer,
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        scope=config.scope,
        require_iss=metadata.authorization_response_iss_parameter_supported,
    )


def authentication(config, metadata):
    return client_authentication(config.client_id, config.client_secret, metadata.token_endpoint_auth_methods_supported)


def code_request(config, metadata, grant):
    return authorization_code_request(
        metadata.token_endpoint,
        authentication(config, metadata),
        code=grant.code,
        redirect_uri=grant.request.redirect_uri,
        code_verifier=grant.request.code_verifier,
    )


def refresh_request(config, metadata, refresh_token):
    return refresh_token_request(metadata.token_endpoint, authentication(config, metadata), refresh_token)
