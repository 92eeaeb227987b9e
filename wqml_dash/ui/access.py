"""Who may open a session: this computer only, unless the server was started for others.

``panel serve app.py`` listens on every network interface unless ``--address`` is given, so a
server started for one person would otherwise build a session (and do its work) for anyone
who can reach the port. Each session checks its client's address first: a client on another
computer gets a short page that says how to serve the app to a class, and nothing else runs.

Remote clients are admitted when ``WQML_ALLOW_REMOTE=1`` is set (``wqml serve --address``
sets it for its own process) or when the user has logged in (``--basic-auth``, OAuth).
"""

from __future__ import annotations

import ipaddress
import os

import panel as pn

#: Set to 1 to admit clients on other computers (``wqml serve --address ...`` does).
ALLOW_REMOTE_ENV = "WQML_ALLOW_REMOTE"

REFUSAL = """\
### wqml-dash is serving this computer only

This server was started for the computer it runs on ({client} is another one), so it does not
open a session for you. To serve a class, start it with `wqml serve --address 0.0.0.0
--allow-origin HOST:PORT --basic-auth users.json` (see "Serving to a class" in the README).
"""


def client_address() -> str | None:
    """The IP address of the current session's browser, or None outside a server request."""
    curdoc = pn.state.curdoc
    context = getattr(curdoc, "session_context", None) if curdoc is not None else None
    request = getattr(context, "request", None) if context is not None else None
    return getattr(request, "remote_ip", None) if request is not None else None


def is_local(address: str) -> bool:
    """Whether ``address`` is this computer: ``localhost`` or a loopback address (``127.0.0.0/8``,
    ``::1``, or IPv4-mapped)."""
    if address in ("localhost", "localhost.localdomain"):
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def remote_allowed() -> bool:
    return os.environ.get(ALLOW_REMOTE_ENV, "").strip() == "1" or bool(pn.state.user)


def refusal_message() -> str | None:
    """The page to show instead of the app, or None when this client may use it."""
    address = client_address()
    if address is None or is_local(address) or remote_allowed():
        return None
    return REFUSAL.format(client=address)
