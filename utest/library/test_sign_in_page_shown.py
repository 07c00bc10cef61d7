"""Where the sign-in page opens decides what the console tells the person at the machine; what the
supervisor reads once the bot is authorised."""

import re

import pytest

from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.sign_in_page import AUTHORISED_PAGE, PageShown, SignInPage, authorised_page


@pytest.mark.parametrize(
    ("browsers", "contexts", "headless", "shown"),
    [
        ((), (), True, PageShown.HEADLESS),
        ((), (), False, PageShown.WINDOW),
        (("suite's",), (), True, PageShown.SUITE),
        (("suite's",), ("suite's",), False, PageShown.SUITE),
    ],
)
def test_the_page_knows_where_it_is_shown(fake_browser, with_display, browsers, contexts, headless, shown):
    browser = fake_browser(browsers, contexts)
    page = SignInPage(browser)
    page._ensure_context(browser, BrowserOptions(headless=headless, executable_path="/usr/bin/true"))
    assert page.shown is shown
    assert [options["headless"] for options in browser.launched] == ([headless] if shown is not PageShown.SUITE else [])


def test_the_authorised_page_names_the_bot_how_long_and_how_to_withdraw():
    page = authorised_page("example_rpa_app")
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "for the bot example_rpa_app" in text
    assert "lasts 24 hours" in text
    assert "until the authorisation is withdrawn" in text
    assert "ask the bot's operator (your RPA team) to run healthcode-auth logout" in text
    assert "You may close this window." in text


def test_the_authorised_page_escapes_the_bot_and_loads_nothing_from_elsewhere():
    page = authorised_page("<script>alert(1)</script>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), "the page must reference no external resource"
    assert "{bot}" in AUTHORISED_PAGE.read_text(encoding="utf-8") and "{bot}" not in page


def test_the_page_the_extension_serves_names_the_bot(fake_browser, with_display):
    browser = fake_browser()
    SignInPage(browser).open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        "S" * 43,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
        bot="claims_bot",
    )
    assert "<strong>claims_bot</strong>" in browser.arguments["healthcodeArm"]["doneHtml"]
