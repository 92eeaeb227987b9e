"""Pieces every ``wqml`` subcommand shares: the parser class, usage errors, list arguments."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: same format, same exit code
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _ints(text: str, minimum: int, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < minimum:
        raise argparse.ArgumentTypeError(f"expected {what} integers, got {text!r}")
    return values


def int_list(text: str) -> list[int]:
    """``'100,200'`` -> ``[100, 200]``; positive integers only."""
    return _ints(text, 1, "positive")


def seed_list(text: str) -> list[int]:
    """``'0,1,2'`` -> ``[0, 1, 2]``; non-negative integers only."""
    return _ints(text, 0, "non-negative")


def run_id_type(text: str) -> int:
    """A run id: a positive integer that fits the store's 64-bit integers, or ``R1``, ``R2``, ... for a
    reference run shipped with wqml-dash (returned as -1, -2, ...)."""
    text = str(text).strip()
    if text[:1] in ("R", "r"):
        if not text[1:].isdecimal() or int(text[1:]) < 1:
            raise argparse.ArgumentTypeError(f"a reference run is R1, R2, ... (see `wqml runs list`), got {text!r}")
        return -int(text[1:])
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a run id is a positive whole number (or R1, R2, ... for a reference "
                                         f"run), got {text!r}") from None
    if not 1 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"a run id is a positive whole number below 2**63, got {text!r}")
    return value


def float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values




def check_json_destination(dest: str | None) -> None:
    """Refuse a ``--json`` file in a folder that does not exist (``-`` is standard output)."""
    if dest not in (None, "-") and not Path(dest).parent.exists():
        raise UsageError(f"folder of --json does not exist: {Path(dest).parent}")


def human_output(dest: str | None):
    """Where tables and notes go: standard error when ``--json -`` takes standard output."""
    return sys.stderr if dest == "-" else sys.stdout


def write_json(dest: str | None, payload: dict) -> None:
    """Write ``payload`` to the ``--json`` destination: a file, or standard output for ``-``."""
    if dest is None:
        return
    text = json.dumps(payload, indent=2) + "\n"
    if dest == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(dest).write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write {dest}: {exc.strerror}") from None


def read_molecule_file(name: str) -> tuple[bytes, str]:
    """(the bytes, the file's name) of a molecule file for ``--file``, read only up to the limit the
    explorer reads (the path may be a device or a pipe); UsageError for an unreadable or larger file."""
    from ..core.scan.molecule import MAX_FILE_BYTES

    path = Path(name)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{path.name}: the file is larger than {MAX_FILE_BYTES:,} bytes "
                         f"({MAX_FILE_BYTES / 2**20:g} MiB), the most that is read")
    return data, path.name
