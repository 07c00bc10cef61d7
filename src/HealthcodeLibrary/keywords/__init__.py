"""The keyword components of HealthcodeLibrary, one concern per module."""

from .access_token import AccessTokenKeywords
from .api_calls import ApiCallKeywords
from .http_clients import HttpClientKeywords
from .sign_in import SignInKeywords

__all__ = ["AccessTokenKeywords", "ApiCallKeywords", "HttpClientKeywords", "SignInKeywords"]
