"""Issue 20's red team, round nine (an attack on round eight's file counts): each break reproduced
against the real portal (cheroot), the sandbox and requests, or the real file store, with a second
real process where the fleet has one; each test fails without its fix."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from healthcode_auth.storage import file_store, write_counts
from healthcode_auth.storage.file_store import FileTokenStore, new_sealer
from healthcode_portal import sign_in_cookie
from portal.portal_helpers import Browser
from portal.test_portal_refusals import replayed

TOKEN_REQUESTS = "token.authorization_code"

# Another robot of the fleet, started afresh: it has seen no count of the file before its one write.
ANOTHER_ROBOT = """
import sys
from healthcode_auth.storage.file_store import FileTokenStore
FileTokenStore(sys.argv[1]).claim(sys.argv[2], 60, 60)
"""


def older_library_rewrites(path) -> None:
    """What a library from before the counts writes back: the file as it read it, with no count."""
    store = FileTokenStore(path)
    document = store._read()
    payload = document.payload()
    for field in ("writes", "writes_line", "writes_ids"):
        payload.pop(field, None)
    write_raw(store, payload, document)


def round_seven_robot_writes(path, writes: int) -> None:
    """What the round-seven library (counts, no lines) writes: the file with its own count."""
    store = FileTokenStore(path)
    document = store._read()
    payload = document.payload() | {"writes": writes}
    payload.pop("writes_line", None)
    payload.pop("writes_ids", None)
    write_raw(store, payload, document)


def write_raw(store, payload, document) -> None:
    sealer = document.sealer or new_sealer(store._environ)
    store._file.write(sealer.seal(payload, generation=document.generation or 0))


def another_robot_writes(path, claim: str = "notice|another robot") -> None:
    subprocess.run([sys.executable, "-c", ANOTHER_ROBOT, str(path), claim], check=True, timeout=60)


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
    counted = store._read().written.count
    older_library_rewrites(config.token_cache)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        another_robot_writes(config.token_cache)
        supervisor = Browser(browser.base)
        assert supervisor.callback(supervisor.sign_in_at_sso().callback_url).status_code == 303
        assert store.claims_forgotten_before() == 0.0
    assert "put back" not in caplog.text
    assert store._read().written.count > counted  # a new line counts on above the old one (for libraries before lines)


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


@pytest.mark.parametrize(
    ("hostile", "starts_a_line"),
    [
        ({"writes_line": ["not", "a", "line"]}, True),
        ({"writes_line": ""}, True),
        ({"writes_line": "x" * 65}, True),
        ({"writes": -1}, True),
        ({"writes": 2**60}, True),
        ({"writes": True}, True),
        ({"writes_ids": [1, 2]}, False),
        ({"writes_ids": "abc"}, False),
        ({"writes_ids": ["x" * 17]}, False),
    ],
)
def test_hostile_counts_lines_and_ids_are_read_as_none(tmp_path, fleet_key, caplog, hostile, starts_a_line):
    """A count, line or ids that this library does not write (a damaged or hostile file) are none:
    a line or count that is not one starts a new line at the next write; ids that are not ones
    leave only the count to compare. None takes the file for a copy or raises."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.claim("notice|first", 60, 60)
    document = store._read()
    write_raw(store, document.payload() | hostile, document)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        read = FileTokenStore(path)._read().written
        assert (read is None) == starts_a_line
        assert store.claims_forgotten_before() == 0.0
        store.claim("notice|second", 60, 60)
    again = FileTokenStore(path)._read().written
    assert again is not None and (again.line != document.written.line) == starts_a_line
    assert again.count < write_counts.LARGEST_START
    assert "put back" not in caplog.text


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


def test_a_newer_copy_put_back_after_an_older_one_cannot_open_the_way_to_a_replay(
    browser, sandbox, config, monkeypatch, caplog
):
    """Round eleven, M1: after a copy was put back, the fleet wrote on from its count, so counts the
    file had before came again with other writes; a newer copy put back next (last night's backup
    after an older one) read as ahead, and the replay of a sign-in completed between the two
    restores reached the SSO. Each write records an id: a file whose ids are not the ones this
    process saw was written on from a copy."""
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)
    first = browser.sign_in_at_sso()
    assert browser.callback(first.callback_url).status_code == 303
    shutil.copy2(config.token_cache, config.token_cache + ".old")
    for _ in range(3):
        supervisor = Browser(browser.base)
        assert supervisor.callback(supervisor.sign_in_at_sso().callback_url).status_code == 303
    shutil.copy2(config.token_cache, config.token_cache + ".new")
    shutil.copy2(config.token_cache + ".old", config.token_cache)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        Browser(browser.base).sign_in_at_sso()  # the portal reads the file: put back, noticed
    assert "put back" in caplog.text
    time.sleep(0.05)
    later = Browser(browser.base)
    visit = later.sign_in_at_sso()
    assert later.callback(visit.callback_url).status_code == 303
    requests_before = sandbox.request_count(TOKEN_REQUESTS)
    shutil.copy2(config.token_cache + ".new", config.token_cache)
    answer = replayed(browser.base, visit)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == requests_before


def test_a_copy_the_fleet_wrote_past_is_still_found(tmp_path, fleet_key, caplog):
    """Round eleven, M2: a portal that saw the file at a count, a copy from before put back, and
    robots (each a process of its own) writing on from the copy past that count: the portal read a
    higher count on its line and never noticed. The ids at the count it saw are not its own."""
    path = tmp_path / "tokens.json"
    portal = FileTokenStore(path)
    portal.claim("portal-state|0", 600, 600)
    shutil.copy2(path, tmp_path / "backup")
    for number in range(3):
        portal.claim(f"portal-code|completed before the restore {number}", 600, 600)
    shutil.copy2(tmp_path / "backup", path)
    copy = FileTokenStore(tmp_path / "backup")._read().written
    for number in range(5):
        another_robot_writes(path, f"notice|robot run {number}")
    assert FileTokenStore(path)._read().written.count == copy.count + 5  # past the count the portal saw
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        assert portal.claims_forgotten_before() > 0.0
    assert "put back" in caplog.text


def test_a_read_that_ran_while_another_thread_saw_a_new_line_changes_nothing():
    """Round eleven, F1: a thread's read of a line this process had not seen, slower than another
    thread's read of the newer line that followed it, made the older line the file's and counted
    the newer one as ended: the next read took the file for a copy. A read of another line than
    one noted while it ran is left out."""
    where = "test-file-a-read-that-ran"
    before = write_counts.seen(where)  # the slow thread's read starts
    newer = write_counts.new_line(where, None)
    write_counts.wrote(where, newer)  # meanwhile: an older robot rewrote the file, another thread wrote on
    older = write_counts.Written("0123456789abcdef", newer.count - 5, ("aaaaaaaaaaaa",))
    assert not write_counts.read(where, before, older)  # the slow read ends, with what it found first
    now = write_counts.seen(where)
    assert now.newest == newer and newer.line not in now.ended
    assert not now.behind(newer.then()) and now.noticed == 0.0


def test_a_line_started_after_a_round_seven_robots_count_counts_on_above_it(tmp_path, fleet_key):
    """Round eleven, C1: a new line started from the time and this process's counts, below a count a
    round-seven robot (counts, no lines) had written after a machine whose clock ran ahead: the
    count went down on disk, and that robot took the file for a copy. A new line starts above the
    file's own count too."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.claim("notice|first", 60, 60)
    ahead = int(time.time() * 1000) + 600_000  # counted by a machine 10 minutes ahead
    round_seven_robot_writes(path, ahead)
    store.claim("notice|second", 60, 60)
    written = FileTokenStore(path)._read().written
    assert written is not None and written.count > ahead


def test_a_write_never_builds_on_a_read_the_file_systems_times_cannot_tell_from_now(tmp_path, fleet_key, monkeypatch):
    """Round twelve, X1: on a file system with coarse times (ext3, HFS+, FAT, SMB: a second), another
    process may replace the file within one tick by one of the same size; a write under the lock
    built on the last read's content (same time, same size: "unchanged") and undid the other's
    claim (two holders of one claim). Under the lock the file is read whatever its time and size."""
    from healthcode_auth.storage import persistence

    real_stat = persistence.FilePersistence.stat

    def same_time_and_size(self):  # the coarsest file system: no change is ever seen in the status
        status = real_stat(self)
        return None if status is None else type("Status", (), {"st_mtime_ns": 0, "st_size": 0})()

    path = tmp_path / "tokens.json"
    first = FileTokenStore(path)
    first.claim("portal-state|first", 600, 600)
    monkeypatch.setattr(persistence.FilePersistence, "stat", same_time_and_size)
    assert first.peek_claim("portal-state|first") is not None  # its last read: this file
    another_robot_writes(path, "portal-state|other")  # another process, within the tick
    assert first.claim("portal-state|third", 600, 600).ours
    monkeypatch.setattr(persistence.FilePersistence, "stat", real_stat)
    fresh = FileTokenStore(path)
    assert fresh.peek_claim("portal-state|other") is not None  # not undone
    assert not fresh.claim("portal-state|other", 600, 600).ours  # still held: no second holder


def test_a_file_an_older_library_wrote_last_is_named_in_the_log(tmp_path, fleet_key, caplog, monkeypatch):
    """Round twelve, M2: a copy of the file as a round-seven robot (counts, no line) wrote it is not
    compared (that library counts on from its own highest count, so a lower one is no sign of a
    copy: comparing it refused sign-ins with no copy, in a fleet that also has a robot from before
    the counts), so a copy it wrote, put back, is not noticed. The log says so, and to upgrade."""
    monkeypatch.setattr(file_store, "_said_older_at", [0.0])
    path = tmp_path / "tokens.json"
    portal = FileTokenStore(path)
    portal.claim("portal-state|first", 600, 600)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        round_seven_robot_writes(path, portal._read().written.count + 1)
        portal.claim("portal-state|second", 600, 600)
    assert "last written by an older version of this library" in caplog.text
    assert "Upgrade every robot and portal" in caplog.text


def test_robots_of_two_older_versions_writing_in_turn_are_never_taken_for_a_copy(tmp_path, fleet_key, caplog):
    """A robot from before the counts drops the count; a round-seven robot then counts on from its
    own highest, below a line this library started since: no copy, and nothing refused."""
    path = tmp_path / "tokens.json"
    portal = FileTokenStore(path)
    portal.claim("portal-state|first", 600, 600)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        for number in range(3):
            round_seven_count = portal._read().written.count + 1
            round_seven_robot_writes(path, round_seven_count)
            time.sleep(0.01)
            portal.claim(f"portal-state|line above {number}", 600, 600)  # a line from the time, above it
            older_library_rewrites(path)
            round_seven_robot_writes(path, round_seven_count + 1)  # from its own highest: below that line
            assert portal.claims_forgotten_before() == 0.0
            portal.claim(f"portal-state|after {number}", 600, 600)
    assert "put back" not in caplog.text


def test_a_round_seven_robots_count_going_on_is_never_taken_for_a_copy(tmp_path, fleet_key, caplog):
    """A round-seven robot counting on from this library's line, and counting from 1 in a file made
    anew, is never taken for a copy."""
    path = tmp_path / "tokens.json"
    portal = FileTokenStore(path)
    portal.claim("portal-state|first", 600, 600)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        for _ in range(3):
            round_seven_robot_writes(path, portal._read().counted + 1)
            portal.claim(f"portal-state|{portal._read().counted}", 600, 600)
        path.unlink()
        round_seven_robot_writes(path, 1)
        assert portal.claims_forgotten_before() == 0.0
    assert "put back" not in caplog.text


def test_a_process_that_only_reads_still_finds_a_copy(tmp_path, fleet_key, caplog):
    """Round twelve, M1: a process that had never written a file recorded nothing of its reads, so
    until its first write a copy put back went unnoticed."""
    path = tmp_path / "tokens.json"
    for number in range(3):
        another_robot_writes(path, f"notice|robot run {number}")
    shutil.copy2(path, tmp_path / "backup")
    for number in range(3, 6):
        another_robot_writes(path, f"notice|robot run {number}")
    reader = FileTokenStore(path)
    assert reader.peek_claim("notice|robot run 5") is not None
    shutil.copy2(tmp_path / "backup", path)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        assert reader.claims_forgotten_before() > 0.0
    assert "put back" in caplog.text
