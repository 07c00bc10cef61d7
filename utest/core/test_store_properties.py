"""Property-based: whatever sequence of sign-ins, renewals, sign-outs, wrong-key runs, damage and
paused writers happens to a file store, no entry that was readable under the right key goes
missing unless a reader holding that key removed it, and nothing is written over damage.

Hypothesis drives a state machine against a real FileTokenStore in a temporary folder, beside a
model of what must be there.
"""

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from healthcode_auth import Token
from healthcode_auth.errors import StoreUnreadableError
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.key_sources import ENV_KEY
from healthcode_auth.storage.store import StoredAuthorisation, entry_key

URL = "https://sso.example.test/.well-known/openid-configuration"
RIGHT = {ENV_KEY: "the robots' passphrase, sixteen+"}
WRONG = [{ENV_KEY: "somebody else's passphrase!!"}, {}]  # another key; no variable (the key file)
CLIENTS = ("alpha", "beta", "gamma")


def entry(client, serial):
    token = Token(
        access_token=f"ACCESS-{client}-{serial}",
        expires_at=time.time() + 3600,
        refresh_token=f"REFRESH-{client}-{serial}",
    )
    return StoredAuthorisation(URL, client, token)


class StoreSequences(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="store-properties-"))
        self.path = self.folder / "tokens.json"
        self.model: dict[str, str] = {}  # client -> the access token a right-key reader must find
        self.serial = 0
        self.paused: dict[str, int | None] = {}  # client -> the version a paused renewer read
        self.damaged: bytes | None = None  # the file's bytes before damage, while damaged

    def teardown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def store(self, environ=RIGHT):
        return FileTokenStore(self.path, environ=dict(environ), lock_timeout=5)

    def new_entry(self, client):
        self.serial += 1
        return entry(client, self.serial)

    @precondition(lambda self: self.damaged is None)
    @rule(client=st.sampled_from(CLIENTS))
    def sign_in(self, client):
        store, new = self.store(), self.new_entry(client)
        with store.renewal_lock(new.key):
            current = store.load(new.key)
            assert store.store(new, None if current is None else current.version)
        self.model[client] = new.token.access_token

    @precondition(lambda self: self.damaged is None)
    @rule(client=st.sampled_from(CLIENTS))
    def renew(self, client):
        store, new = self.store(), self.new_entry(client)
        with store.renewal_lock(new.key):
            current = store.load(new.key)
            if current is None:
                return
            assert store.store(new, current.version)
        self.model[client] = new.token.access_token

    @precondition(lambda self: self.damaged is None)
    @rule(client=st.sampled_from(CLIENTS))
    def sign_out(self, client):
        store = self.store()
        with store.renewal_lock(entry_key(URL, client)):
            current = store.load(entry_key(URL, client))
            if current is not None:
                assert store.remove(entry_key(URL, client), current.version)
        self.model.pop(client, None)

    @rule(
        client=st.sampled_from(CLIENTS),
        environ=st.sampled_from(WRONG),
        action=st.sampled_from(["load", "sign-in", "sign-out"]),
    )
    def wrong_key_run(self, client, environ, action):
        """A run without the robots' key (another one, or none: the key file) tries everything on the
        robots' file: it must fail, saying so, and change nothing."""
        if not self.path.exists():
            return
        store, before = self.store(environ), self.path.read_bytes()
        try:
            if action == "sign-in":
                store.store(self.new_entry(client), None)
            else:
                found = store.load(entry_key(URL, client))
                if found is not None and action == "sign-out":
                    store.remove(entry_key(URL, client), found.version)
        except StoreUnreadableError:
            pass
        else:
            raise AssertionError("a run with the wrong key read or wrote the robots' file")
        assert self.path.read_bytes() == before

    @precondition(lambda self: self.damaged is None and self.path.exists())
    @rule(where=st.floats(min_value=0, max_value=0.999), how=st.sampled_from(["flip", "truncate"]))
    def damage(self, where, how):
        data = self.path.read_bytes()
        self.damaged = data
        at = int(len(data) * where)
        self.path.write_bytes(data[:at] if how == "truncate" else data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :])

    @precondition(lambda self: self.damaged is not None)
    @rule(client=st.sampled_from(CLIENTS))
    def a_robot_meets_the_damage(self, client):
        store, before = self.store(), self.path.read_bytes()
        for attempt in (lambda: store.load(entry_key(URL, client)), lambda: store.store(self.new_entry(client), None)):
            with contextlib.suppress(StoreUnreadableError):
                attempt()
        assert self.path.read_bytes() == before  # nothing written over damage

    @precondition(lambda self: self.damaged is not None)
    @rule()
    def repair(self):
        self.path.write_bytes(self.damaged)  # the backup put back, or the byte fixed
        self.damaged = None

    @precondition(lambda self: self.damaged is None)
    @rule(client=st.sampled_from(CLIENTS))
    def a_renewer_reads_and_pauses(self, client):
        found = self.store().load(entry_key(URL, client))
        self.paused[client] = None if found is None else found.version

    @precondition(lambda self: self.damaged is None and self.paused)
    @rule(data=st.data())
    def the_paused_renewer_writes_late(self, data):
        client = data.draw(st.sampled_from(sorted(self.paused)))
        version = self.paused.pop(client)
        store, new = self.store(), self.new_entry(client)
        current = store.load(new.key)
        unchanged = (None if current is None else current.version) == version
        assert (store.store(new, version) is not None) == unchanged  # a late write lands only over what it read
        if unchanged:
            self.model[client] = new.token.access_token

    @invariant()
    def every_readable_entry_is_where_the_model_says(self):
        if self.damaged is not None:
            return
        store = self.store()
        for client in CLIENTS:
            found = store.load(entry_key(URL, client))
            assert (None if found is None else found.entry.token.access_token) == self.model.get(client)


TestStoreSequences = StoreSequences.TestCase
TestStoreSequences.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
