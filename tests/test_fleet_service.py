"""The fleet service's start, without a Hub: where it says it will look
for the users' servers."""

import logging

import pytest

from jupyter_session_ext.hub.service import GUESSED_PROXY, FleetService


@pytest.fixture
def service(monkeypatch, caplog):
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_HUB_URL", raising=False)
    caplog.set_level(logging.INFO, logger="fleet-test")

    def make(*argv: str) -> FleetService:
        app = FleetService()
        app.log = logging.getLogger("fleet-test")
        app.parse_command_line(list(argv))
        app._say_where_servers_are()
        return app

    return make


def test_without_a_public_url_it_says_where_it_guesses(service, caplog):
    app = service()
    assert app.proxy_url == GUESSED_PROXY
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert GUESSED_PROXY in record.message and "c.JupyterHub.public_url" in record.message
    assert "--proxy-url" in record.message


def test_the_hubs_public_url_or_the_option_is_used_quietly(service, caplog, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", "https://hub.example.org/hub/")
    assert service().proxy_url == "https://hub.example.org"
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_HUB_URL")
    # The option, even when it names the guessed address itself.
    assert service(f"--proxy-url={GUESSED_PROXY}").proxy_url == GUESSED_PROXY
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]


def test_the_options_the_hubs_roles_replaced_are_accepted_and_say_so(service, caplog):
    app = service("--FleetService.allowed_groups=auditors", "--FleetService.allowed_services=prom")
    app._say_what_replaced_allowed()
    [record] = [r for r in caplog.records if "allowed_groups" in r.message]
    assert record.levelno == logging.WARNING
    assert "auditors" in record.message and "prom" in record.message
    assert "custom:active-sessions:read:sessions" in record.message
    caplog.clear()
    service()._say_what_replaced_allowed()
    assert not [r for r in caplog.records if "allowed_groups" in r.message]
