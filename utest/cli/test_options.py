"""The options every command shares, turned into settings (no process, no network)."""

import argparse

import pytest

from healthcode_auth import ConfigurationError
from healthcode_cli.options import add_config_options, config_from

REGISTRATION = ["--client-id", "example_rpa_app", "--redirect-uri", "https://rpaapp.example.com/postauth"]


def parse(*args):
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    return config_from(parser.parse_args([*REGISTRATION, *args]))


def test_leeway_defaults_to_five_minutes():
    assert parse().leeway == 300


def test_leeway_flag_in_whole_or_fractional_seconds(monkeypatch):
    assert parse("--leeway", "120.4").leeway == 120
    monkeypatch.setenv("HEALTHCODE_LEEWAY", "90")
    assert parse().leeway == 90
    assert parse("--leeway", "30").leeway == 30  # the flag wins over the variable


def test_leeway_out_of_range_names_the_setting():
    with pytest.raises(ConfigurationError) as caught:
        parse("--leeway", "3601")
    assert caught.value.setting == "leeway"
    assert caught.value.variable == "HEALTHCODE_LEEWAY"
