"""What every keyword component shares: the library's state, reached through properties."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from healthcode_auth.redaction import REDACTOR

if TYPE_CHECKING:
    from healthcode_auth.session import HealthcodeSession

    from .argument_types import BrowserOptions
    from .sign_in_page import SignInPage


class LibraryState(Protocol):
    """What components need of their library: ``HealthcodeLibrary``, or the login command's host."""

    @property
    def session(self) -> HealthcodeSession: ...

    @property
    def sign_in_page(self) -> SignInPage: ...

    @property
    def browser_options(self) -> BrowserOptions: ...


class LibraryComponent:
    """Base class of the keyword components (as in the Browser library and SeleniumLibrary)."""

    def __init__(self, library: LibraryState) -> None:
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
