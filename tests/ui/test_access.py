"""Nothing exposed by default: `panel serve app.py` answers other computers with a refusal page
and builds no app for them; `wqml serve` listens on 127.0.0.1 only and adds a login on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from wqml_dash.ui import access

ROOT = Path(__file__).resolve().parents[2]


def _external_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback (None when it has none)."""
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family.name == "AF_INET" and not a.address.startswith("127."):
                return a.address
    return None


@pytest.mark.parametrize("address, local", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.2", False), ("10.0.0.7", False), ("fe80::1%eth0", False), ("not an address", False)])
def test_loopback_addresses(address, local):
    assert access.is_local(address) is local


def test_refusal_only_for_other_computers_unless_allowed(monkeypatch):
    monkeypatch.delenv(access.ALLOW_REMOTE_ENV, raising=False)
    monkeypatch.setattr(access, "client_address", lambda: None)  # a notebook, a test: no request
    assert access.refusal_message() is None
    monkeypatch.setattr(access, "client_address", lambda: "127.0.0.1")
    assert access.refusal_message() is None
    monkeypatch.setattr(access, "client_address", lambda: "192.0.2.77")
    assert "192.0.2.77 is another one" in access.refusal_message()
    monkeypatch.setenv(access.ALLOW_REMOTE_ENV, "1")
    assert access.refusal_message() is None


@pytest.fixture
def served_on_every_interface(tmp_path, launch_server):
    """`panel serve app.py` without --address (it binds every interface), origin of the LAN address allowed."""
    external = _external_ipv4()
    if external is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    env.pop(access.ALLOW_REMOTE_ENV, None)
    _, port = launch_server([sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", "{port}",
                             "--allow-websocket-origin", f"{external}:{{port}}",
                             "--allow-websocket-origin", "127.0.0.1:{port}"],
                            "http://127.0.0.1:{port}/app", env, tmp_path / "serve.log")
    return external, port


@pytest.mark.browser
def test_another_computer_gets_the_refusal_page_only(served_on_every_interface, browser, shot_path):
    external, port = served_on_every_interface
    context = browser.new_context(viewport={"width": 1200, "height": 500})
    try:
        page = context.new_page()
        page.goto(f"http://{external}:{port}/app")
        page.get_by_text("wqml-dash is serving this computer only").wait_for(timeout=60_000)
        page.get_by_text(f"{external} is another one").wait_for(timeout=5_000)
        assert page.locator(".wqml-d").count() == 0 and page.locator(".bk-tab").count() == 0
        page.screenshot(path=str(shot_path))
        local = context.new_page()  # the same server still serves this computer in full
        local.goto(f"http://127.0.0.1:{port}/app")
        local.locator(".bk-tab").first.wait_for(timeout=90_000)
        assert local.get_by_text("serving this computer only").count() == 0
    finally:
        context.close()


def _wqml(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "wqml_dash.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _listening(pid: int, port: int) -> set[str]:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return {c.laddr.ip for p in procs for c in p.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_wqml_serve_listens_on_loopback_only(tmp_path, launch_server):
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    proc, port = launch_server([sys.executable, "-m", "wqml_dash.cli", "serve", "--port", "{port}"],
                               "http://127.0.0.1:{port}/app", env, tmp_path / "serve.log")
    assert _listening(proc.pid, port) == {"127.0.0.1"}
    external = _external_ipv4()
    if external is not None:
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://{external}:{port}/app", timeout=5)


@pytest.mark.slow
def test_wqml_serve_num_procs_shares_one_dask_cluster(tmp_path, launch_server):
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    env.pop("WQML_SCHEDULER", None)
    proc, port = launch_server([sys.executable, "-m", "wqml_dash.cli", "serve", "--port", "{port}", "--num-procs", "2"],
                               "http://127.0.0.1:{port}/app", env, tmp_path / "serve.log", timeout=300)
    children = psutil.Process(proc.pid).children(recursive=True)
    servers = [p for p in children if _listening(p.pid, port)]
    clusters = [p for p in children if "wqml_dash.runs.shared_cluster" in " ".join(p.cmdline())]
    assert len(servers) == 2 and len(clusters) == 1  # two server processes, one cluster for both
    proc.log.seek(0)
    assert "runs go to the shared Dask cluster at tcp://127.0.0.1:" in proc.log.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_wqml_serve_with_a_login(tmp_path, launch_server):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"teacher": "correct horse battery staple"}))
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    _, port = launch_server([sys.executable, "-m", "wqml_dash.cli", "serve", "--port", "{port}",
                             "--basic-auth", str(users)], "http://127.0.0.1:{port}/login", env, tmp_path / "serve.log")
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(f"http://127.0.0.1:{port}/app", timeout=30)
    assert answer.value.code == 302 and "/login" in answer.value.headers["Location"]


@pytest.mark.parametrize("argv, message", [
    (["--address", "0.0.0.0"], "needs --allow-origin"),
    (["--port", "0"], "--port must be between 1 and 65535"),
    (["--port", "70000"], "--port must be between 1 and 65535"),
    (["--basic-auth", "/nonexistent/users.json"], "cannot read --basic-auth file"),
    (["--num-procs", "0"], "--num-procs must be between 1 and"),
    (["--num-procs", "2", "--show"], "--show cannot be combined with --num-procs"),
])
def test_wqml_serve_bad_options_exit_2(argv, message):
    result = _wqml("serve", *argv)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", ["not json", "[]", "{}", '{"a": ""}', '{"a": 1}'])
def test_wqml_serve_bad_users_file(tmp_path, content):
    users = tmp_path / "users.json"
    users.write_text(content)
    result = _wqml("serve", "--basic-auth", str(users))
    assert result.returncode == 2 and "--basic-auth file" in result.stderr and "Traceback" not in result.stderr
