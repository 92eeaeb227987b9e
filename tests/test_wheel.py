"""The wheel carries the app: built from the checkout, installed into a fresh virtual environment and
run from a folder that is not the checkout, it serves the page with its stylesheet and reads its
example molecules (package data, through importlib.resources).

The venv finds the dependencies in this interpreter's site-packages through a ``.pth`` file (installing
Panel, RDKit and numba afresh would take minutes; ``--system-site-packages`` would miss them when the
suite itself runs in a venv). A ``.pth`` line adds a folder to ``sys.path`` after the venv's own
site-packages and runs none of that folder's ``.pth`` files, so the checkout's editable install stays
out: wqml_dash comes from the wheel, which the test checks.
"""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: A rule of ``wqml_dash/ui/assets/wqml.css`` that only that file writes.
CSS_MARK = ".wqml-help h3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, wqml) of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(ROOT)], check=True, timeout=300)
    wheel, = (tmp / "dist").glob("wqml_dash-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   timeout=300)
    venv_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python, venv / "bin" / "wqml", tmp


def _clean_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WQML_"))}
    env["WQML_STORE"] = str(tmp / "runs.sqlite")
    return env


def test_the_installed_package_is_the_wheel_and_carries_its_data(installed):
    python, _, tmp = installed
    code = ("import wqml_dash, importlib.resources as r; print(wqml_dash.__file__); "
            "from wqml_dash.ui.app import stylesheet; print(len(stylesheet())); "
            "from wqml_dash.core.scan.examples import example_files, molecule_from_example_file; "
            "names = sorted(example_files()); print(names); "
            "print([len(molecule_from_example_file(n)) for n in names])")
    out = subprocess.run([str(python), "-c", code], cwd=tmp, env=_clean_env(tmp), capture_output=True, text=True,
                         timeout=300, check=True).stdout.splitlines()
    assert Path(out[0]).is_relative_to(tmp / "venv"), f"wqml_dash came from {out[0]}, not from the wheel"
    assert int(out[1]) > 200
    assert "pyridine.sdf" in out[2] and "formic_acid.xyz" in out[2] and "ethanol.pdb" in out[2]
    assert all(n >= 5 for n in eval(out[3]))  # noqa: S307 (our own printed list)


@pytest.mark.browser
def test_the_installed_app_serves_its_page_with_the_stylesheet(installed):
    _, wqml, tmp = installed
    port = _free_port()
    server = subprocess.Popen([str(wqml), "serve", "--port", str(port)], cwd=tmp, env=_clean_env(tmp),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        html = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as r:
                    html = r.read().decode()
                break
            except OSError:
                time.sleep(1)
        assert html is not None, f"the server did not answer: {server.stderr.read() if server.poll() else ''}"
        assert CSS_MARK in html, "the page lacks the app's stylesheet"
        assert "cdn.holoviz.org" not in html and "cdn.bokeh.org" not in html
    finally:
        server.terminate()
        server.wait(timeout=30)
