"""Issue 20's red team, round seven (an attack on round six's fixes): each break reproduced against
the real portal (cheroot), the sandbox and requests, or the real file store; each test fails
without its fix."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from healthcode_auth import ClaimsFullError
from healthcode_auth.storage import file_store
from healthcode_auth.storage.file_store import LASTING, FileTokenStore
from healthcode_portal import sign_in_cookie
from portal.portal_helpers import Browser, portal_base, running_portal, stored_entry
from portal.test_portal_red_team_five import junk_callback
from portal.test_portal_red_team_six import callback_with, state_of

TOKEN_REQUESTS = "token.authorization_code"


def holding(config):
    """The claims of the portal's file store that hold someone back now."""
    now = time.time()
    return [claim for claim in FileTokenStore(config.token_cache)._read().claims.values() if claim[4] > now]


@pytest.mark.parametrize("failure", ["503", "500", "timeout"])
def test_junk_callbacks_during_an_sso_outage_never_refuse_a_supervisors_sign_in(
    sandbox, make_config, unused_port, monkeypatch, failure
):
    """R1: a callback whose token request failed without an OAuth error (an outage, a proxy's 502,
    a 429 page, a timeout) kept its state claim 20 minutes and its code claim 24 hours. Junk
    callbacks during an outage filled the file store with them; then each callback's code claim
    pushed out its own state claim, the watermark rose to "now", and nearly every supervisor's
    sign-in was refused as "used already", for 24 hours, with no attacker left. Nothing is stored
    on such a code, so its claims are let go. Here the store keeps 20 claims and 30 junk callbacks
    arrive during the outage."""
    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)  # one clock here: any rise of the mark counts
    timeout = failure == "timeout"
    config = make_config(timeout=2) if timeout else make_config()
    base = portal_base(config.redirect_uri)
    with running_portal(config, unused_port):
        early = Browser(base)
        early_visit = early.sign_in_at_sso()  # a supervisor at the SSO's form when the outage starts
        if timeout:
            sandbox.set_faults(token_delay=3.0)
        else:
            sandbox.set_faults(token_failures=30, failure_status=int(failure))
        junk = [junk_callback(Browser(base), sandbox.issuer).status_code for _ in range(4 if timeout else 30)]
        assert set(junk) <= {400, 502, 503} and 200 not in junk
        assert holding(config) == []  # nothing was stored on any of them: nothing holds
        assert FileTokenStore(config.token_cache).claims_forgotten_before() == 0.0
        sandbox.reset_faults()
        assert early.callback(early_visit.callback_url).status_code == 303
        later = Browser(base)
        assert later.callback(later.sign_in_at_sso().callback_url).status_code == 303
        assert FileTokenStore(config.token_cache).claims_forgotten_before() == 0.0


def test_a_lasting_claim_is_never_let_go_and_a_store_full_of_them_changes_nothing(tmp_path, fleet_key, monkeypatch):
    """R1 and R2 in the file store: the claims that hold longest were let go last, by when they end,
    so a new callback's code claim (24 hours) pushed out its own state claim (20 minutes), and a
    supervisor's used code went once enough later code claims arrived. A claim that lasts (held
    more than an hour: a used code a stored token was issued on, a delivered notice) is never let
    go early; with only those left, claiming says so and changes nothing."""
    monkeypatch.setattr(file_store, "MAX_CLAIMS", 10)
    store = FileTokenStore(tmp_path / "tokens.json")
    supervisors = store.claim("portal-code|supervisor", 1200, 1200)
    assert store.settle_claim("portal-code|supervisor", supervisors, True, 86400, 86400)
    for number in range(30):  # claims of sign-ins in progress: each pushes out the oldest of its kind
        store.claim(f"portal-state|{number}", 1200, 1200)
    assert not store.claim("portal-code|supervisor", 1200, 1200).ours  # still held: a swap is refused
    assert store.peek_claim("portal-state|29") is not None and store.peek_claim("portal-state|0") is None
    mark = store.claims_forgotten_before()
    for number in range(9):  # with the supervisor's: the file's 10 places
        taken = store.claim(f"portal-code|stored-{number}", 1200, 1200)
        assert store.settle_claim(f"portal-code|stored-{number}", taken, True, 86400, 86400)
    before = store.path.read_bytes()
    with pytest.raises(ClaimsFullError) as raised:
        store.claim("portal-state|one-more", 1200, 1200)
    assert "Nothing was changed" in str(raised.value) and "10 claims" in str(raised.value)
    assert store.path.read_bytes() == before
    assert store.claims_forgotten_before() >= mark  # and never lowered
    assert not store.claim("portal-code|supervisor", 1200, 1200).ours


def test_claims_are_let_go_oldest_first_so_the_watermark_rises_least(tmp_path, fleet_key, monkeypatch):
    """Letting go of the claim that ends first let go of the newest (a 20-minute claim made now
    before a 24-hour one made earlier): the watermark jumped to now. Now the oldest claim goes."""
    monkeypatch.setattr(file_store, "MAX_CLAIMS", 5)
    store = FileTokenStore(tmp_path / "tokens.json")
    store.claim("notice|old and long", 1800, 1800)  # made first, ends last (not lasting: half an hour)
    time.sleep(0.01)
    first = time.time()
    for number in range(5):  # the fifth finds the file's 5 places taken
        store.claim(f"portal-state|{number}", 1200, 1200)
    assert store.peek_claim("notice|old and long") is None
    assert store.claims_forgotten_before() < first  # the mark is when the notice's claim was made
    assert store.peek_claim("portal-state|0") is not None


def test_a_supervisors_used_code_stays_claimed_whatever_comes_after_it(browser, sandbox, config, monkeypatch):
    """R2: with the file store full of claims made after the supervisor's (24-hour code claims of an
    outage's junk callbacks), the supervisor's code claim was let go, and the N1 swap (the used code
    in a sign-in started afterwards) reached the SSO again, which revokes the robots' token. The
    supervisor's code claim lasts: the swap is refused before the SSO."""
    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    stored = stored_entry(config)
    code = parse_qs(urlsplit(visit.callback_url).query)["code"][0]
    flood = FileTokenStore(config.token_cache)
    for number in range(40):  # later claims, held as long as the supervisor's or longer (as 531c688 made them)
        flood.claim(f"portal-code|junk-{number}", 86400 + number, 86400 + number)
    time.sleep(0.01)
    attacker = Browser(browser.base)
    answer = callback_with(attacker, state_of(attacker.authorise()), code, sandbox.issuer)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert stored_entry(config).version == stored.version
    assert not flood.claim(sign_in_cookie._code_name(code), 1200, 1200).ours


def test_an_older_versions_day_long_junk_claims_never_refuse_supervisors(browser, config, monkeypatch):
    """Round eight, B1: the version before round seven's fix kept a day-long code claim for every
    junk callback of an SSO outage ("sending", held 24 hours). Counted as lasting, they were never
    let go: supervisors were refused as "used already", then told the store had no room, for a day
    after the upgrade. Only work done lasts; an attempt still "sending" after an hour goes first."""
    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)  # one clock here: the junk is older than the skew
    browser.get("")
    older = FileTokenStore(config.token_cache)
    for number in range(19):  # the file, full, as 531c688 left it after an outage's junk callbacks
        older.claim(f"portal-code|junk-{number}", 86400, 86400)
    time.sleep(0.01)
    answers = []
    for _ in range(6):
        supervisor = Browser(browser.base)
        answers.append(supervisor.callback(supervisor.sign_in_at_sso().callback_url).status_code)
    assert answers == [303] * 6
    assert stored_entry(config) is not None


def test_a_stored_tokens_code_lasts_before_the_token_is_stored(sandbox, make_config, unused_port):
    """Round eight, B2: the code's claim was made to last only after the token was stored, the
    record written and the "authorised" notice sent (up to 30 s). A portal killed, or a store
    failing, in between left a stored token's code claimed for 20 minutes only; after them the N1
    swap reached the SSO, which revoked the robots' token. Here the notice's service is slow: while
    the portal waits for it, the token is stored and its code's claim already lasts a day."""
    import threading

    from receivers import Webhook

    with Webhook() as webhook:
        webhook.delay = 4.0
        config = make_config(notify=(webhook.url(),))
        with running_portal(config, unused_port):
            supervisor = Browser(portal_base(config.redirect_uri))
            visit = supervisor.sign_in_at_sso()
            code = parse_qs(urlsplit(visit.callback_url).query)["code"][0]
            answers = []
            callback = threading.Thread(target=lambda: answers.append(supervisor.callback(visit.callback_url)))
            callback.start()
            deadline = time.monotonic() + 20
            while stored_entry(config) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            claim = FileTokenStore(config.token_cache).peek_claim(sign_in_cookie._code_name(code))
            waiting = callback.is_alive()
            callback.join(30)
    assert waiting, "the notice's service answered before the store could be looked at"
    assert claim is not None and claim.state == "done"
    assert claim.until - time.time() > sign_in_cookie.CODE_KEEP - 60
    assert [answer.status_code for answer in answers] == [303]


def test_a_token_file_that_cannot_be_written_is_a_store_error_not_a_crash(tmp_path, fleet_key, monkeypatch):
    """Round eight, B2: a full disk or a folder that refuses writes raised a bare OSError, which a
    portal's callback turned into a 500 page though the robots were authorised; robots met a
    traceback. It is a StoreError that says what to check, and the file keeps what it held."""
    import errno

    from healthcode_auth import StoreError
    from healthcode_auth.storage import persistence

    store = FileTokenStore(tmp_path / "tokens.json")
    store.claim("notice|first", 60, 60)
    before = store.path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persistence, "write_atomically", full_disk)
    with pytest.raises(StoreError) as raised:
        store.claim("notice|second", 60, 60)
    assert "No space left on device" in str(raised.value) and "free space" in str(raised.value)
    assert store.path.read_bytes() == before


def test_only_a_stored_sign_ins_code_is_claimed_for_long(browser, sandbox, config):
    """The code of a sign-in whose token went to the store is claimed as long as that token lives
    (and lasts, in the file store's sense); a refused account's, a refused code's are let go."""
    assert sign_in_cookie.CODE_KEEP > LASTING
    junk_callback(Browser(browser.base), sandbox.issuer)
    assert holding(config) == []
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    now = time.time()
    held = sorted(claim[4] - now for claim in holding(config))
    assert len(held) == 2  # the state's (its own time) and the code's (a day)
    assert held[0] <= sign_in_cookie.CLAIM_KEEP + 1 and held[1] > sign_in_cookie.CODE_KEEP - 60


def test_claims_from_a_clock_ahead_are_named_as_the_cause(caplog):
    """Round seven (info): a fleet member whose clock runs more than 10 minutes ahead makes its
    claims unreadable to the others (sign-ins in progress refused): the log says why."""
    from healthcode_auth.storage.file_store import _parse

    now = time.time()
    ahead = ["sending", 1, now + 3600, now + 3600, now + 4800, now + 4800]
    file_store._said_at[0] = 0.0
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        document = _parse({"entries": {}, "claims": {"a": ahead}, "claims_forgotten_before": 0.0}, None, 0)
    assert document.forgotten_before > 0
    assert "3600 s ahead" in caplog.text and "clock" in caplog.text


def test_refused_tokens_that_name_no_account_are_recorded_once_each(make_config):
    """Round seven (info): refusals whose token names no account (its supervisor claim missing)
    shared one "recorded already" marker: one such account's sign-ins kept another's out of the
    record. They are told apart by the supervisor the token names."""
    from healthcode_auth import Token
    from portal.portal_helpers import events, store_session

    config = make_config(supervisor_claim="employee_number")
    session = store_session(config)
    for supervisor in ("first.person", "second.person", "first.person"):
        session._record_refusal(None, Token("not-a-real-token", supervisor=supervisor))
    assert [(e["event"], e.get("supervisor")) for e in events(config)] == [
        ("refused", "first.person"),
        ("refused", "second.person"),
    ]


def test_a_token_file_put_back_from_a_copy_cannot_open_the_way_to_a_replay(browser, sandbox, config, monkeypatch):
    """R3: a restored backup (cp -a, rsync -a, a sync client) brings back that time's claims, its
    watermark and its modification time: the claims made since were gone without a trace, and a
    copy of a callback completed since reached the SSO again (which revokes what it issued on its
    code). A file written fewer times than this process saw counts its claims as let go when it
    noticed: the replay is refused before the SSO; a sign-in started afterwards completes."""
    import shutil

    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)
    first = browser.sign_in_at_sso()
    assert browser.callback(first.callback_url).status_code == 303
    backup = config.token_cache + ".backup"
    shutil.copy2(config.token_cache, backup)  # the night's backup, its time kept
    later = Browser(browser.base)
    visit = later.sign_in_at_sso()
    assert later.callback(visit.callback_url).status_code == 303
    requests_before = sandbox.request_count(TOKEN_REQUESTS)
    shutil.copy2(backup, config.token_cache)  # put back, with the backup's modification time
    from portal.test_portal_refusals import replayed

    answer = replayed(browser.base, visit)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == requests_before
    fresh = Browser(browser.base)
    assert fresh.callback(fresh.sign_in_at_sso().callback_url).status_code == 303


def test_threads_writing_one_file_at_once_never_count_it_as_put_back(tmp_path, fleet_key, caplog):
    """A thread that read the file just before another wrote it reads a lower count than the process
    has seen since: it reads again, and only a file still lower was put back."""
    import threading

    path = tmp_path / "tokens.json"
    FileTokenStore(path).claim("notice|first", 60, 60)
    first = FileTokenStore(path)._read().written
    assert first is not None
    stop = threading.Event()
    marks: list[float] = []

    def write(number):
        store = FileTokenStore(path)
        for step in range(40):
            store.claim(f"portal-state|{number}-{step}", 60, 60)

    def read():
        store = FileTokenStore(path)
        while not stop.is_set():
            marks.append(store.claims_forgotten_before())

    with caplog.at_level("WARNING", logger="healthcode_auth"):
        readers = [threading.Thread(target=read) for _ in range(3)]
        writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join(120)
        stop.set()
        for thread in readers:
            thread.join(30)
    assert len(marks) > 10 and set(marks) == {0.0}
    assert "put back" not in caplog.text
    last = FileTokenStore(path)._read().written
    assert last is not None and last.line == first.line and last.count == first.count + 3 * 40
