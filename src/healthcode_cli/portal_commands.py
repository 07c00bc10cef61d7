"""``portal``: serve the supervisor portal at the registered redirect URI's address (docs/portal.md).

It takes the settings and the token store the robots use (``HEALTHCODE_*`` variables or options),
listens on ``--listen`` (behind the customer's TLS reverse proxy, or on TLS itself with
``--certificate`` and ``--private-key``) and serves until Ctrl+C or SIGTERM. It refuses to start
without an allow-list of supervisors (``HEALTHCODE_SUPERVISORS``) unless told explicitly that any
Healthcode account may authorise the robots (``--any-healthcode-account``; the application itself
checks). Beyond a trusted network it must sit behind a reverse proxy that buffers requests
(nginx, IIS): slow clients could otherwise hold all its threads; ``--certificate`` is for small
internal networks.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

from .options import EXIT_OK, EXIT_USAGE, add_config_options, config_from, log_to_stderr

INSTALL_HINT = "The portal is not installed. Install it with: pip install 'robotframework-healthcode[portal]'"


def add_portal_command(commands: Any) -> None:
    """Register ``healthcode-auth portal`` and its options."""
    command = commands.add_parser(
        "portal",
        help="serve the supervisor portal: supervisors authorise the robots from any device, at the "
        "registered redirect URI (docs/portal.md)",
        description="Serve the supervisor portal at the registered redirect URI. Beyond a trusted network, run it "
        "behind a reverse proxy that buffers whole requests before passing them on (nginx, IIS with "
        "ARR): on its own, a few dozen slow or idle connections can hold all its threads. "
        "--certificate (TLS without a proxy) is for small internal networks.",
    )
    add_config_options(command)
    server = command.add_argument_group("the portal's server")
    server.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:8080: behind a reverse proxy on this machine)",
    )
    server.add_argument(
        "--certificate",
        metavar="FILE",
        help="serve TLS with this PEM certificate (chain), without a proxy: for small internal networks only",
    )
    server.add_argument("--private-key", metavar="FILE", help="the certificate's PEM private key")
    server.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy's address or network whose X-Forwarded-For is believed (repeat for "
        "several); from any other peer the header is ignored",
    )
    server.add_argument(
        "--threads",
        type=_threads,
        default=32,
        metavar="N",
        help="worker threads (default 32): each open connection holds one, slow ones included",
    )
    server.add_argument(
        "--any-healthcode-account",
        action="store_true",
        help="start without an allow-list of supervisors: then ANY Healthcode account that may sign "
        "in for this client can replace the robots' authorisation from the portal",
    )
    command.set_defaults(handler=portal)


def portal(args: argparse.Namespace) -> int:
    """Serve the portal until Ctrl+C or SIGTERM."""
    config = config_from(args)
    try:
        from healthcode_portal.app import create_app
        from healthcode_portal.portal_server import PortalServer, parse_listen, parse_proxies
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_USAGE
    host, port = parse_listen(args.listen)
    proxies = parse_proxies(args.trusted_proxy)
    log_to_stderr("healthcode_portal", "%(asctime)s %(levelname)s %(message)s")  # its access log: no queries
    app = create_app(config, any_account=args.any_healthcode_account)  # refuses to start without an allow-list
    _check_store(config)  # a key that cannot read the store is said now, not to the first supervisor
    server = PortalServer(
        app,
        host,
        port,
        certificate=args.certificate,
        private_key=args.private_key,
        trusted_proxies=proxies,
        threads=args.threads,
    )
    server.start()
    public = app.extensions["healthcode_portal"].public
    scheme = "https" if args.certificate else "http"
    where = urlsplit(public.redirect_uri)
    if where.scheme == "http" and where.port not in (None, server.bound_port):
        print(
            f"warning: the redirect URI {public.redirect_uri} is on port {where.port}, but the portal listens on "
            f"{server.bound_port}: supervisors' browsers come back to the redirect URI. Listen on "
            f"{where.hostname}:{where.port}, or put a proxy there.",
            file=sys.stderr,
            flush=True,  # before the line that says it listens
        )
    print(
        f"The portal of {config.display_name} ({config.environment}) listens on {scheme}://{_shown(host)}:"
        f"{server.bound_port}. Supervisors open {public.url(public.page())}; the callback is "
        f"{public.redirect_uri}. Ctrl+C stops it.",
        flush=True,
    )
    if not config.supervisors:
        print(
            "warning: --any-healthcode-account: any Healthcode account that may sign in for this client can "
            "authorise the robots here. Set HEALTHCODE_SUPERVISORS to allow only some.",
            file=sys.stderr,
        )
    previous = signal.signal(signal.SIGTERM, _interrupt) if hasattr(signal, "SIGTERM") else None
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("The portal stopped.", flush=True)
    return EXIT_OK


def _check_store(config: Any) -> None:
    """The robots' store, read once before serving: a key that cannot read it (or none) stops the
    portal with the store's message; a store that does not answer just now is a warning (the pages
    say so until it does)."""
    from healthcode_auth.errors import StoreUnavailableError
    from healthcode_auth.session import HealthcodeSession

    try:
        HealthcodeSession.from_config(config).check_store()
    except StoreUnavailableError as error:
        print(f"warning: {error}", file=sys.stderr)


def _threads(text: str) -> int:
    if not text.strip().isdigit() or not 4 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(
            "give a number of worker threads from 4 to 256 (at least 2 stay for the "
            "pages that wait on neither the SSO nor the store)"
        )
    return int(text)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
