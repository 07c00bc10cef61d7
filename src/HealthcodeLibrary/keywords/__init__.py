"""The keyword components of HealthcodeLibrary, one concern per module."""

from .access_token import AccessTokenKeywords
from .http_auth import HttpAuthKeywords
from .sign_in import SignInKeywords

__all__ = ["AccessTokenKeywords", "HttpAuthKeywords", "SignInKeywords"]
