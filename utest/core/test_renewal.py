"""The renewal half of the session over an in-memory store and a fake SSO: a renewed pair is kept
whatever happens after the SSO answered (renewal.py). Each case is a break a red-team review found."""

import time

import pytest

from healthcode_auth import HealthcodeConfig, Token, TokenStatus, token_status
from healthcode_auth.errors import KeySetUnavailableError, StoreUnavailableError, TokenRequestError
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.storage.store import StoredAuthorisation
from memory_store import MemoryTokenStore

CONFIG = HealthcodeConfig(
    client_id="example_rpa_app",
    redirect_uri="https://rpaapp.example.com/postauth",
    environment="uat",
    token_cache="off",
)


class FakeSso:
    """Answers every refresh with a new pair; ``fail_verify`` makes the access token's check fail."""

    def __init__(self, fail_verify=None):
        self.config = CONFIG
        self.fail_verify = fail_verify
        self.refreshes = 0
        self.metadata = type("Metadata", (), {"to_dict": lambda self: {}, "discovery_url": CONFIG.discovery_url})()

    def request_refresh(self, refresh_token):
        self.refreshes += 1
        return Token(
            access_token=f"ACCESS-{self.refreshes}",
            expires_at=time.time() + 86400,
            refresh_token=f"REFRESH-{self.refreshes}",
        )

    def verify(self, token):
        if self.fail_verify is not None:
            raise self.fail_verify
        return token


def robot(store, sso):
    session = HealthcodeSession(CONFIG, store=store)
    session.client = sso
    return session


def due_entry(store):
    token = Token(access_token="ACCESS-0", expires_at=time.time() + 60, refresh_token="REFRESH-0")
    assert store.store(StoredAuthorisation(CONFIG.discovery_url, "example_rpa_app", token), None)


@pytest.mark.parametrize(
    "failure",
    [
        KeySetUnavailableError("the key set is down"),
        TokenRequestError("The token endpoint's answer gives no sane expiry"),  # break 2
    ],
)
def test_a_pair_that_fails_its_checks_is_kept_unverified_and_never_handed_out(failure):
    store = MemoryTokenStore()
    due_entry(store)
    with pytest.raises(type(failure)):
        robot(store, FakeSso(fail_verify=failure)).access_token()
    kept = store.load(robot(store, FakeSso()).key)
    assert kept.entry.token.refresh_token == "REFRESH-1" and not kept.entry.verified
    # Break 1: whatever a machine's clock says, the unverified access token is never handed out.
    next_robot = robot(store, FakeSso())
    held = next_robot.current_token()
    for now in (time.time(), time.time() + 2 * 86400, time.time() - 2 * 86400):
        assert token_status(held, now=now) is TokenStatus.RENEWAL_DUE
    renewed = next_robot.access_token()  # renews with the kept refresh token
    assert renewed.access_token == "ACCESS-1" and next_robot.client.refreshes == 1


def test_the_pair_is_stored_before_it_is_verified():
    """Break 4: a renewer killed while it verifies must already have stored the new pair."""
    store = MemoryTokenStore()
    due_entry(store)
    seen = []

    class Observing(FakeSso):
        def verify(self, token):
            seen.append(store.load(robot(store, FakeSso()).key).entry.token.refresh_token)
            return token

    robot(store, Observing()).access_token()
    assert seen == ["REFRESH-1"]


class FlakyStore(MemoryTokenStore):
    """Refuses every write while ``down`` (a paused Redis, a full disk)."""

    down = False

    def store(self, entry, expected_version):
        if self.down:
            raise StoreUnavailableError("the store did not answer (simulated)")
        return super().store(entry, expected_version)


def test_a_write_that_fails_for_a_while_is_kept_and_handed_over_at_the_next_use(monkeypatch):
    """Break 3: a store that could not take the renewed pair left one robot holding it."""
    monkeypatch.setattr("healthcode_auth.renewal.RETRY_DELAYS", (0.01, 0.01))
    store = FlakyStore()
    due_entry(store)
    renewer = robot(store, FakeSso())
    store.down = True
    renewed = renewer.access_token()
    assert renewed.access_token == "ACCESS-1"
    assert store.load(renewer.key).entry.token.refresh_token == "REFRESH-0"  # not written yet
    store.down = False
    assert renewer.access_token().access_token == "ACCESS-1"  # the next use hands it over
    assert store.load(renewer.key).entry.token.refresh_token == "REFRESH-1"


def test_a_stored_version_not_newer_than_the_one_replaced_is_never_adopted(monkeypatch):
    """Break 9: an entry whose version went backwards (hostile data) was taken for a newer one."""
    monkeypatch.setattr("healthcode_auth.renewal.RETRY_DELAYS", ())
    store = MemoryTokenStore()
    due_entry(store)
    renewer = robot(store, FakeSso())
    original = store.store

    def backwards(entry, expected_version):
        key = entry.key
        current = store._entries[key]
        store._entries[key] = (current[0], current[1] - 1)  # someone rewrote the version downwards
        return original(entry, expected_version)

    monkeypatch.setattr(store, "store", backwards)
    assert renewer.access_token().access_token == "ACCESS-1"  # its own pair, kept pending
    assert renewer._state.pending is not None
