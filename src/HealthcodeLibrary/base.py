"""What every keyword component shares: the library's state, reached through properties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from healthcode_auth.redaction import REDACTOR

if TYPE_CHECKING:
    from healthcode_auth.session import HealthcodeSession

    from . import HealthcodeLibrary
    from .argument_types import BrowserOptions
    from .sign_in_page import SignInPage


class LibraryComponent:
    """Base class of the keyword components (as in the Browser library and SeleniumLibrary)."""

    def __init__(self, library: HealthcodeLibrary) -> None:
        self.library = library

    @property
    def session(self) -> HealthcodeSession:
        REDACTOR.install()  # Robot's log handler exists only once execution has started
        return self.library.session

    @property
    def sign_in_page(self) -> SignInPage:
        return self.library.sign_in_page

    @property
    def browser_options(self) -> BrowserOptions:
        return self.library.browser_options
