"""Fuzzing support: example budgets per target, and a count of the examples each target ran.

Two depths: ``default`` (the normal suite: a few hundred examples for cheap targets, fewer for
targets that build a whole explorer; deterministic, so CI never meets a new random failure)
and ``thorough`` (thousands per target, random). ``HYPOTHESIS_PROFILE=thorough`` makes every
fuzz test thorough; ``pytest -m slow tests/robustness/test_fuzz.py`` runs the thorough
variants only. With ``WQML_FUZZ_REPORT=1`` the counts are written at the end of the session
to ``benchmarks/results/fuzz_counts.json`` (never otherwise, so normal runs leave the tree clean).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fuzz_counts.json"


class FuzzRecord:
    """Examples run and seconds spent per fuzz target (all of this session)."""

    def __init__(self):
        self.examples: Counter[str] = Counter()
        self.outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)  # "valid" / "user_error"
        self.seconds: Counter[str] = Counter()
        self.depths: dict[str, str] = {}
        self.budget: dict[str, int] = {}

    def to_json(self) -> dict:
        targets = {name: {"examples": self.examples[name], **dict(sorted(self.outcomes[name].items())),
                          "max_examples": self.budget.get(name),
                          "depth": self.depths.get(name), "seconds": round(self.seconds[name], 2)}
                   for name in sorted(self.examples)}
        return {"targets": targets, "total_examples": sum(self.examples.values()),
                "total_seconds": round(sum(self.seconds.values()), 1),
                "profile_env": os.environ.get("HYPOTHESIS_PROFILE", ""),
                "hypothesis": _version("hypothesis"), "python": platform.python_version(),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "written": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


@pytest.fixture(scope="session")
def fuzz_record():
    record = FuzzRecord()
    start = time.perf_counter()
    yield record
    if os.environ.get("WQML_FUZZ_REPORT") and record.examples:
        data = record.to_json()
        data["session_wall_seconds"] = round(time.perf_counter() - start, 1)
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(data, indent=2) + "\n")
