"""Scans every session of a server computes alike (a teaching example's, a QM9 molecule's), computed once.

Thirty students opening the same link would otherwise build thirty identical engines and fit
thirty identical sets of models on a laptop's two cores.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from .engine import ScanEngine
from .molecule import Molecule
from .settings import ENGINE_SETTINGS, MODEL_SETTINGS, ScanSettings


class SharedScans:
    """Scans every session of this process computes identically, computed once (the default example's).

    Keyed by the molecule (teaching examples and QM9 molecules only: their geometry is fixed) and
    every scan setting; holds the engine, its distances to d = 0 and the results per training set.
    A session gets a shallow copy of the engine bound to its own settings (the arrays are shared and
    never written) and the shared, immutable results. The oldest entries are dropped past `size`, an
    entry's oldest training sets past `results_per_scan`. Safe to call from several threads.
    """

    def __init__(self, size: int = 16, results_per_scan: int = 8):
        self.size = size
        self.results_per_scan = results_per_scan
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.molecules: dict[str, Molecule] = {}

    @staticmethod
    def key(mol: Molecule, settings: ScanSettings):
        if not mol.source.startswith(("example:", "qm9")):
            return None
        values = tuple(_hashable(getattr(settings, k)) for k in (*ENGINE_SETTINGS, *MODEL_SETTINGS))
        return (mol.source, len(mol), values)

    def engine(self, key, mol: Molecule, settings: ScanSettings):
        """(engine, distances to zero, zero entries) for ``key``, built with a private copy of ``settings``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            private = ScanSettings(**{k: _copy_value(getattr(settings, k))
                                      for k in (*ENGINE_SETTINGS, *MODEL_SETTINGS, "normalize")})
            engine = ScanEngine(mol, private)
            entry = {"engine": engine, "zero": engine.distances_to_zero(), "results": {}, "key": key}
            with self._lock:  # (another thread may have built it meanwhile: every session keeps one entry)
                entry = self._entries.setdefault(key, entry)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        mine = copy.copy(entry["engine"])
        mine.settings = settings
        return mine, entry

    def result(self, entry, train: tuple[int, ...], compute):
        """The shared result for ``train`` (computed once): a shallow copy per call, its arrays shared
        and never written; ``shared_key`` names it for the frames cache (`frame_player.shared_frames`)."""
        with self._lock:
            shared = entry["results"].get(train)
        if shared is None:
            # Computed outside the lock (other sessions go on); a scan started from a link that waited
            # for QM9 runs in the loading thread, so two threads can get here at once.
            computed = compute()
            with self._lock:
                results = entry["results"]
                shared = results.setdefault(train, computed)
                while len(results) > self.results_per_scan:
                    results.pop(next(iter(results)))
        out = copy.copy(shared)
        out.shared_key = (entry["key"], train)
        return out


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _copy_value(value):
    return list(value) if isinstance(value, list) else value


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _copy_value(value):
    return list(value) if isinstance(value, list) else value
