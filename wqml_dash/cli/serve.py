"""``wqml serve``: the dashboard with safe defaults (this computer only) and the options a class needs.

It serves the same page as ``panel serve app.py`` through `panel.serve`: every browser tab gets
a session of its own. Defaults: listen on 127.0.0.1 only; the websocket accepts pages from this
computer only. To serve others, name the address to listen on and the address they will type
(``--allow-origin``); add a login with ``--basic-auth``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from .common import UsageError

DEFAULT_PORT = 5006
#: Largest websocket message the server accepts (an upload travels in one, base64-encoded).
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve the dashboard (this computer only, unless told otherwise)",
        description="Serve the dashboard. By default it listens on 127.0.0.1 and only this computer "
                    "can open it. To serve a class: --address 0.0.0.0 --allow-origin HOST:PORT "
                    "--basic-auth users.json.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0: every interface)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="a host name or address that browsers use to reach the server (repeat for "
                        "several); required when --address is not a loopback address")
    p.add_argument("--basic-auth", metavar="USERS_JSON",
                   help="require a login: a JSON file mapping user names to passwords "
                        "(Panel's basic authentication)")
    p.add_argument("--cookie-secret", metavar="SECRET",
                   help="secret that signs login cookies (default: $WQML_COOKIE_SECRET, else a new "
                        "random one, so logins end when the server restarts)")
    p.add_argument("--num-procs", type=int, default=1, metavar="N",
                   help="server processes sharing the port (Panel's --num-procs; default 1). They share "
                        "one run store and one Dask cluster; see README, 'Serving to a class safely'")
    p.add_argument("--show", action="store_true", help="open the app in a browser")
    p.set_defaults(func=run)


def _users(path: str) -> str:
    """Check the users file and return its path (Panel reads it itself)."""
    file = Path(path)
    try:
        users = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read --basic-auth file {path!r}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"--basic-auth file {path!r} is not JSON: expected {{\"user\": \"password\", ...}}") from None
    if not isinstance(users, dict) or not users or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in users.items()):
        raise UsageError(f"--basic-auth file {path!r} must map user names to non-empty passwords")
    return str(file.resolve())


def server_options(args) -> dict:
    """The keyword arguments for `panel.serve`, after checking the command line."""
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    num_procs = getattr(args, "num_procs", 1)
    if not 1 <= num_procs <= (os.cpu_count() or 1) * 4:
        raise UsageError(f"--num-procs must be between 1 and {(os.cpu_count() or 1) * 4}, got {num_procs}")
    if num_procs > 1 and args.show:
        raise UsageError("--show cannot be combined with --num-procs above 1")
    from ..ui.access import is_local

    if not is_local(args.address) and not args.allow_origin:
        raise UsageError("serving beyond this computer needs --allow-origin HOST:PORT, the address "
                         "students type in their browser (e.g. --allow-origin 192.168.1.20:5006)")
    origins = [f"localhost:{args.port}", f"127.0.0.1:{args.port}", *args.allow_origin]
    options = dict(port=args.port, address=args.address, websocket_origin=origins, show=args.show,
                   title="wqml-dash", websocket_max_message_size=MAX_MESSAGE_BYTES)
    if num_procs > 1:
        options["num_procs"] = num_procs
    if args.basic_auth:
        options["basic_auth"] = _users(args.basic_auth)
        options["cookie_secret"] = (args.cookie_secret or os.environ.get("WQML_COOKIE_SECRET")
                                    or secrets.token_urlsafe(32))
    return options


def run(args) -> int:
    options = server_options(args)
    from ..ui.access import ALLOW_REMOTE_ENV, is_local

    local = is_local(args.address)
    if not local:
        # The app turns away clients on other computers unless told they are expected (ui/access.py).
        os.environ[ALLOW_REMOTE_ENV] = "1"
        if not args.basic_auth:
            print("wqml: warning: anyone who can reach this address can use the app; add --basic-auth "
                  "users.json for a login", file=sys.stderr)
    import panel as pn

    from ..ui.app import create_app

    cluster = None
    if options.get("num_procs", 1) > 1:
        from ..runs.executor import SCHEDULER_ENV
        from ..runs.shared_cluster import start_shared_cluster
        from ..runs.store import RunStore

        RunStore()  # the store's file and schema, made once before the processes share it
        if not os.environ.get(SCHEDULER_ENV):  # one cluster for every process, not one each
            cluster = start_shared_cluster()
            print(f"wqml: {options['num_procs']} server processes; runs go to the shared Dask cluster at "
                  f"{os.environ[SCHEDULER_ENV]}", file=sys.stderr)
    where = "localhost" if local else args.address
    print(f"wqml: serving http://{where}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    try:
        pn.serve({"app": create_app}, **options)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.address}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    finally:
        if cluster is not None:
            cluster.stdin.close()
            try:
                cluster.wait(30)
            except Exception:  # noqa: BLE001 (it is going away anyway)
                cluster.kill()
    return 0
