"""Issue 20's red team, round nine (an attack on round eight's file counts): each break reproduced
against the real portal (cheroot), the sandbox and requests, or the real file store, with a second
real process where the fleet has one; each test fails without its fix."""

import os
import shutil
import subprocess
import sys

import pytest

from healthcode_auth.storage import write_counts
from healthcode_auth.storage.file_store import FileTokenStore, new_sealer
from healthcode_portal import sign_in_cookie
from portal.portal_helpers import Browser
from portal.test_portal_refusals import replayed

TOKEN_REQUESTS = "token.authorization_code"

# Another robot of the fleet, started afresh: it has seen no count of the file before its one write.
ANOTHER_ROBOT = """
import sys
from healthcode_auth.storage.file_store import FileTokenStore
FileTokenStore(sys.argv[1]).claim("notice|another robot", 60, 60)
"""


def older_library_rewrites(path) -> None:
    """What a library from before the counts writes back: the file as it read it, with no count."""
    store = FileTokenStore(path)
    document = store._read()
    payload = document.payload()
    for field in ("writes", "writes_line"):
        payload.pop(field, None)
    write_raw(store, payload, document)


def round_seven_robot_writes(path, writes: int) -> None:
    """What the round-seven library (counts, no lines) writes: the file with its own count."""
    store = FileTokenStore(path)
    document = store._read()
    payload = document.payload() | {"writes": writes}
    payload.pop("writes_line", None)
    write_raw(store, payload, document)


def write_raw(store, payload, document) -> None:
    sealer = document.sealer or new_sealer(store._environ)
    store._file.write(sealer.seal(payload, generation=document.generation or 0))


def another_robot_writes(path) -> None:
    subprocess.run([sys.executable, "-c", ANOTHER_ROBOT, str(path)], check=True, timeout=60)


def test_a_fleet_with_an_older_library_never_counts_the_file_as_put_back(browser, config, caplog):
    """W1: a robot still on a library from before the counts rewrote the file without one; the next
    robot to write, started afresh, counted from 1, and every process that had seen more took the
    file for a restored copy: sign-ins in progress, and those started within a minute, were refused,
    again at each of the older robot's writes, with a warning to delete the file. A file without a
    count now starts a new line of counts, compared only within itself."""
    first = Browser(browser.base)
    assert first.callback(first.sign_in_at_sso().callback_url).status_code == 303
    store = FileTokenStore(config.token_cache)
    for number in range(5):
        store.claim(f"notice|{number}", 60, 60)
    counted = store._read().writes
    older_library_rewrites(config.token_cache)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        another_robot_writes(config.token_cache)
        supervisor = Browser(browser.base)
        assert supervisor.callback(supervisor.sign_in_at_sso().callback_url).status_code == 303
        assert store.claims_forgotten_before() == 0.0
    assert "put back" not in caplog.text
    assert store._read().writes > counted  # a new line counts on above the old one (for libraries before lines)


def test_a_token_file_deleted_and_made_again_is_not_a_copy_put_back(tmp_path, fleet_key, caplog):
    """An operator deleting the token file (the documented way to start again) is not a restore: the
    robot that writes it next starts a new line of counts, and no process takes it for a copy."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    for number in range(5):
        store.claim(f"notice|{number}", 60, 60)
    path.unlink()
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        another_robot_writes(path)
        assert store.claims_forgotten_before() == 0.0
        assert store.peek_claim("notice|another robot") is not None
    assert "put back" not in caplog.text


def test_a_copy_put_back_matching_a_reads_time_and_size_is_still_found(tmp_path, fleet_key, caplog):
    """W2: a read of a file with the modification time and size of the last one trusted what it had
    decrypted then; a copy put back with its time (cp -a) matches exactly that, so a process that
    had seen the file written since (another store object, another thread) never noticed. A process
    that has seen a higher count than the last read's reads the file again."""
    path = tmp_path / "tokens.json"
    reader, writer = FileTokenStore(path), FileTokenStore(path)
    writer.claim("portal-state|first", 600, 600)
    assert reader.peek_claim("portal-state|first") is not None  # the reader's last read: this file
    shutil.copy2(path, tmp_path / "backup")
    writer.claim("portal-code|used since", 600, 600)
    shutil.copy2(tmp_path / "backup", path)  # put back: the reader's last read's time and size
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        assert reader.claims_forgotten_before() > 0.0
    assert "put back" in caplog.text
    # The same line writes on from the copy: a restore is noticed once, not at every read.
    writer.claim("portal-state|after", 600, 600)
    caplog.clear()
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        FileTokenStore(path).peek_claim("portal-state|after")
        reader.peek_claim("portal-state|after")
    assert "put back" not in caplog.text


def test_a_hostile_line_reads_as_an_older_librarys_file(tmp_path, fleet_key):
    """A line that is not a short string (a damaged or hostile file) is no line: the next write
    starts one."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.claim("notice|first", 60, 60)
    document = store._read()
    payload = document.payload() | {"writes_line": ["not", "a", "line"]}
    write_raw(store, payload, document)
    assert FileTokenStore(path)._read().line is None
    store.claim("notice|second", 60, 60)
    again = FileTokenStore(path)._read()
    assert isinstance(again.line, str) and len(again.line) == 16 and again.line != document.line


@pytest.mark.parametrize("how", ["deleted", "rewritten by an older library"])
def test_a_copy_from_before_a_new_line_put_back_cannot_open_the_way_to_a_replay(
    browser, sandbox, config, monkeypatch, how
):
    """Round ten, F1 (an attack on W1's fix): counts compared within a line only let a copy from
    the line before go unnoticed (a backup taken before the file was deleted, or before an older
    robot rewrote it): the replay of a callback completed since reached the SSO. A line this
    process saw replaced is over: a copy on it was put back."""
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)
    first = browser.sign_in_at_sso()
    assert browser.callback(first.callback_url).status_code == 303
    backup = config.token_cache + ".backup"
    shutil.copy2(config.token_cache, backup)
    if how == "deleted":
        os.unlink(config.token_cache)
    else:
        older_library_rewrites(config.token_cache)
    later = Browser(browser.base)
    visit = later.sign_in_at_sso()
    assert later.callback(visit.callback_url).status_code == 303
    requests_before = sandbox.request_count(TOKEN_REQUESTS)
    shutil.copy2(backup, config.token_cache)  # put back, with its modification time
    answer = replayed(browser.base, visit)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == requests_before


def test_a_round_seven_robot_counting_without_lines_is_never_taken_for_a_restore(tmp_path, fleet_key, caplog):
    """Round ten, F2: a robot on the round-seven library counts but names no line; its count was
    read as the line "" and compared, so after the file was deleted its first write (count 1) was
    taken for a copy put back. A count without a line is no line: the next write starts one."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.claim("notice|first", 60, 60)
    round_seven_robot_writes(path, 5_000)
    for number in range(3):
        store.claim(f"notice|{number}", 60, 60)
    path.unlink()
    store.claim("notice|again", 60, 60)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        round_seven_robot_writes(path, 1)
        assert store.claims_forgotten_before() == 0.0
        store.claim("notice|after", 60, 60)
        assert store.claims_forgotten_before() == 0.0
    assert "put back" not in caplog.text


def test_lines_ended_are_kept_bounded_and_the_latest_still_tell_a_copy(tmp_path, fleet_key, caplog):
    """Round ten, F3: every line a process saw was kept, and each read went through them all: a
    fleet with an older robot slowed the portal's reads without bound. The last 64 lines ended are
    kept; a copy from the latest of them is still found."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.claim("notice|first", 60, 60)
    for number in range(write_counts.KEPT_LINES + 20):
        shutil.copy2(path, tmp_path / "backup")
        older_library_rewrites(path)
        store.claim(f"notice|{number}", 60, 60)
    assert len(write_counts.seen(store._id).ended) == write_counts.KEPT_LINES
    shutil.copy2(tmp_path / "backup", path)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        assert store.claims_forgotten_before() > 0.0
    assert "put back" in caplog.text
