"""Sites per account: which SU-SiteId values an account's tokens may name (settings, clients files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from healthcode_sandbox import (
    DEFAULT_ACCOUNTS,
    DEFAULT_SITE_ID,
    Account,
    Sandbox,
    SandboxConfigurationError,
    Supervisor,
    load_registrations,
)

from .api_steps import Api
from .flows import Flow


def test_the_default_accounts_have_their_documented_sites() -> None:
    assert {account.username: account.sites for account in DEFAULT_ACCOUNTS} == {
        "supervisor": ("HC00ABC", "HC12393"),
        "mfa.supervisor": ("HC16190",),
    }
    assert Account("alice").sites == (DEFAULT_SITE_ID,) == ("HC00ABC",)
    assert Account("bob", sites=["HC1", "HC2"]).sites == ("HC1", "HC2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sites",
    ["HC00ABC", ["HC 00ABC"], [""], ["x" * 33], ["HC00ABC", 7]],
    ids=["one-string", "space", "empty", "too-long", "not-a-string"],
)
def test_site_ids_are_checked(sites: object) -> None:
    with pytest.raises(SandboxConfigurationError, match="site"):
        Account("alice", sites=sites)  # type: ignore[arg-type]


def test_a_clients_file_gives_accounts_sites(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({
        "clients": [{"client_id": "a", "redirect_uris": ["https://a/cb"]}],
        "accounts": [{"username": "alice", "password": "pw", "sites": ["HC_A-1", "HC00ABC"]},
                     {"username": "bob", "password": "pw"}, {"username": "carol", "password": "pw", "sites": []}],
    }))  # fmt: skip

    accounts = load_registrations(path).accounts

    assert accounts is not None
    assert [account.sites for account in accounts] == [("HC_A-1", "HC00ABC"), ("HC00ABC",), ()]


@pytest.mark.parametrize("sites", ['"HC00ABC"', '["bad site"]'])
def test_a_clients_file_with_bad_sites_is_refused(tmp_path: Path, sites: str) -> None:
    path = tmp_path / "clients.json"
    path.write_text(
        '{"clients": [{"client_id": "a", "redirect_uris": ["https://a/cb"]}],'
        f' "accounts": [{{"username": "alice", "password": "pw", "sites": {sites}}}]}}'
    )

    with pytest.raises(SandboxConfigurationError, match="site"):
        load_registrations(path)


def test_an_account_reads_exactly_its_configured_sites(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(accounts=(Account("alice", sites=("HCALICE",)), Account("carol", sites=())))
    alice = Api(sandbox, Flow(sandbox, supervisor=Supervisor("alice")).tokens()["access_token"], site_id="HCALICE")
    carol = Api(sandbox, Flow(sandbox, supervisor=Supervisor("carol")).tokens()["access_token"], site_id="HCALICE")

    assert alice.search_remittances(insurerIdentifier="bup").status_code == 200
    assert (
        alice.call("GET", "get_remittance_endpoint", "/RM00001", headers=alice.headers(SU_SiteId="HC00ABC")).status_code
        == 403
    )
    assert carol.search_remittances(insurerIdentifier="bup").status_code == 403
