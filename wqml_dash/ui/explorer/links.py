"""A shared link: the explorer's state written into the page's address and read back (old links too)."""

from __future__ import annotations

import ast
import json
from urllib.parse import parse_qsl, urlencode

import param

from .scan_state import URL_STATE, ExplorerState

#: The query parameter that names the molecule (example key, QM9 index, SMILES or file name).
URL_MOLECULE_KEY = next(url for url, target in URL_STATE.items() if target == ("state", "key"))


def query_values(location) -> dict[str, str]:
    """The query of a page's location (``pn.state.location``) as text values, name -> value."""
    return dict(parse_qsl(str(getattr(location, "search", "") or "").lstrip("?")))


def _targets(state: ExplorerState) -> dict:
    return {"state": state, "settings": state.settings}


def apply_link(state: ExplorerState, raw: dict[str, str], keys: set[str]) -> list[str]:
    """Apply the link's values one by one; returns the names of values a setting refused."""
    targets, problems = _targets(state), []
    for url_name in URL_STATE:
        if url_name not in keys:
            continue
        obj, pname = URL_STATE[url_name]
        target = targets[obj]
        try:
            target.param.update({pname: decode_value(target.param[pname], raw[url_name])})
        except Exception:  # any refusal of a value a user typed: named, never a traceback
            problems.append(url_name)
    return problems


def apply_molecule_key(state: ExplorerState, raw: dict[str, str], keys: set[str]) -> list[str]:
    """The link's molecule key as the text it is, not as Panel's parser reads it (adds it to ``keys``).

    Panel reads query values that look like JSON or numbers: a SMILES such as ``[Na+].[Cl-]``
    would be dropped and a QM9 index would arrive as a number. A link that names a source but
    no molecule falls back to the default example (and names the molecule key as refused).
    """
    key = raw.get(URL_MOLECULE_KEY, "").strip()
    if key:
        state.key = key
        keys.add(URL_MOLECULE_KEY)
    elif state.source != "example" and "source" in keys:
        state.source = "example"
        return [URL_MOLECULE_KEY]
    return []


def link_parts(state: ExplorerState) -> tuple[list[str], list[str]]:
    """The link's ``key=value`` parts before and after ``d`` (None values are left out)."""
    targets, parts, before = _targets(state), ([], []), True
    for url_name, (obj, pname) in URL_STATE.items():
        if url_name == "d":
            before = False
            continue
        value = getattr(targets[obj], pname)
        if value is not None:
            parts[0 if before else 1].append(urlencode({url_name: encode_value(value)}))
    return parts


def link_query(state: ExplorerState, d: float | None = None) -> str:
    """The address bar's query for ``state`` at ``d`` (default: the state's d)."""
    before, after = link_parts(state)
    value = round(float(state.d if d is None else d), 9)
    return "?" + "&".join([*before, urlencode({"d": encode_value(value)}), *after])


def encode_value(value) -> str:
    """A link value: text as it is, everything else as JSON (``["l1_sorted"]``, ``false``, ``0.3``)."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def decode_value(parameter: param.Parameter, text: str):
    """A link value back: text for text settings, else JSON; links written before the JSON encoding
    (``['l1_sorted']``, ``False``) are read as the Python literals they are (never evaluated)."""
    if isinstance(parameter, param.String):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
    try:
        return parameter.deserialize(value)  # e.g. a JSON list for a tuple setting
    except Exception:  # noqa: BLE001 (the setting itself then names what is wrong)
        return value
