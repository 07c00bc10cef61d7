"""Where the sign-in page opens decides what the console tells the person at the machine."""

import pytest

from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.sign_in_page import PageShown, SignInPage


class FakeBrowser:
    """The Browser library's methods the page uses to find or make a context."""

    def __init__(self, browsers=(), contexts=()):
        self.browsers, self.contexts = list(browsers), list(contexts)
        self.launched = []

    def get_browser_ids(self, *_):
        return self.browsers

    def get_context_ids(self, *_):
        return self.contexts

    def new_browser(self, browser, **options):
        self.launched.append(options)
        self.browsers.append("b1")

    def new_context(self):
        self.contexts.append("c1")


@pytest.mark.parametrize(("browser", "headless", "shown"), [
    (FakeBrowser(), True, PageShown.HEADLESS),
    (FakeBrowser(), False, PageShown.WINDOW),
    (FakeBrowser(browsers=["suite's"]), True, PageShown.SUITE),
    (FakeBrowser(browsers=["suite's"], contexts=["suite's"]), False, PageShown.SUITE),
])
def test_the_page_knows_where_it_is_shown(browser, headless, shown):
    page = SignInPage(browser)
    page._ensure_context(browser, BrowserOptions(headless=headless, executable_path="/usr/bin/true"))
    assert page.shown is shown
    assert [options["headless"] for options in browser.launched] == ([headless] if shown is not PageShown.SUITE else [])
