"""The acceptance runner's secret scan finds a secret in every form a log could hold it."""

import base64
import html
import json
import zipfile
from urllib.parse import quote, quote_plus

import pytest
from leak_scan import files_under, scan

SECRET = "a:b/c+d&e=f%g<h>\"i'"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        html.escape(SECRET),
        json.dumps(SECRET)[1:-1],
    ],
)
def test_each_written_form_is_found(tmp_path, form):
    assert_found(tmp_path, form)


STORE_PASSWORD = "p@ss:w/rd%!"


@pytest.mark.parametrize(
    "form",
    [
        quote(SECRET),  # a path keeps '/'
        SECRET.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;"),  # an XML attribute
        repr(SECRET)[1:-1],  # Robot logs lists and dictionaries with repr()
        json.dumps(SECRET + "\u00e9", ensure_ascii=False)[1:-1],
        base64.b64encode(f"example_rpa_app:{quote_plus(SECRET)}".encode()).decode(),  # Basic, RFC 6749 2.3.1
        base64.b64encode(f"example_rpa_app:{SECRET}".encode()).decode(),  # Basic, RFC 7617
        base64.b64encode(f"x:{SECRET}".encode()).decode(),
        base64.b64encode(f"xy:{SECRET}".encode()).decode(),
        base64.urlsafe_b64encode(f"{SECRET}.rest".encode()).decode(),
    ],
    ids=[
        "path",
        "xml attribute",
        "repr",
        "json unicode",
        "basic form-encoded",
        "basic",
        "base64 offset 2",
        "base64 offset 0",
        "base64 url-safe",
    ],
)
def test_every_other_spelling_is_found(tmp_path, form):
    assert_found(tmp_path, form)


@pytest.mark.parametrize(
    "form",
    [
        STORE_PASSWORD,
        quote(STORE_PASSWORD, safe=""),
        f"redis://:{quote(STORE_PASSWORD, safe='')}@127.0.0.1:6379/0",
        base64.b64encode(f":{STORE_PASSWORD}".encode()).decode(),
    ],
    ids=["decoded", "percent-encoded", "in a redis URL", "basic"],
)
def test_every_spelling_of_a_store_password_is_found(tmp_path, form):
    (tmp_path / "output.xml").write_text(f"<msg>{html.escape(form, quote=False)}</msg>")
    _, leaks = scan(files_under(tmp_path), {"store password": [STORE_PASSWORD]})
    assert [leak.kind for leak in leaks] == ["store password"]


def assert_found(tmp_path, form):
    (tmp_path / "log.html").write_text(f"<td>{form}</td>")
    scanned, leaks = scan(files_under(tmp_path), {"client secret": [SECRET]})
    assert scanned == 1
    assert [str(leak) for leak in leaks] == [f"{tmp_path / 'log.html'}: contains a client secret"]


def test_zip_members_are_scanned(tmp_path):
    with zipfile.ZipFile(tmp_path / "trace.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.network", "GET https://bot.example/cb?code=THE-CODE-VALUE")
    _, leaks = scan(files_under(tmp_path), {"authorization code": ["THE-CODE-VALUE"]})
    assert [leak.kind for leak in leaks] == ["authorization code"]
    assert "trace.zip!trace.network" in leaks[0].path


def test_clean_files_pass(tmp_path):
    (tmp_path / "output.xml").write_text("<msg>Bearer &lt;secret&gt;</msg>")
    scanned, leaks = scan(files_under(tmp_path), {"access token": ["eyJhbGciOiJSUzI1NiJ9.e30.sig"]})
    assert (scanned, leaks) == (1, [])


def test_leak_report_never_repeats_the_secret(tmp_path):
    (tmp_path / "console.txt").write_text("token=TOPSECRET-123")
    _, leaks = scan(files_under(tmp_path), {"access token": ["TOPSECRET-123"]})
    assert "TOPSECRET-123" not in str(leaks[0])


def test_texts_robot_compresses_in_log_html_are_scanned(tmp_path):
    """log.html and report.html keep texts over 80 characters zlib-compressed and base64-encoded."""
    from robot.utils import compress_text

    text = "${headers} = {'Authorization': 'Bearer TOPSECRET-123'} " * 3
    (tmp_path / "log.html").write_text(f'window.output["strings"] = ["*plain", "{compress_text(text)}"];')
    scanned, leaks = scan(files_under(tmp_path), {"access token": ["TOPSECRET-123"]})
    assert scanned == 2
    assert [leak.path for leak in leaks] == [f"{tmp_path / 'log.html'}!compressed strings"]
