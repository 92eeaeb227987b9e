"""A file picker that refuses files over a size limit in the browser, before they are sent.

Panel's `FileInput` sends the whole file in one websocket message; a file over the server's
message limit (20 MB by default) closes the connection and leaves a dead page. `UploadBox`
checks the size first: a file over `max_bytes` is announced by name and size only.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import param
from panel.custom import JSComponent


class UploadBox(JSComponent):
    """One file at a time; `upload` is set by the browser, `received` holds the decoded file."""

    accept = param.String(default="", doc="File types the browser's picker offers, e.g. '.xyz,.sdf'")
    max_bytes = param.Integer(default=1 << 20, bounds=(1, None), doc="Largest file sent to the server, bytes")
    label = param.String(default="Upload a molecule file", doc="Accessible name of the picker")
    upload = param.Dict(default={}, doc=(
        "Set by the browser: {'name', 'size', 'b64', 'serial'} for an accepted file; "
        "{'name', 'size', 'refused': True, 'serial'} for one over max_bytes (no content)"))
    received = param.Parameter(default=None, doc=(
        "(filename, data bytes or None, size) of the latest upload; data is None when it was refused"))

    _esm = Path(__file__).with_name("upload_box.js")
    _stylesheets = [":host { display: block; } .wqml-upload-input { width: 100%; font-size: 14px; padding: 6px 0; }"]

    @param.depends("upload", watch=True)
    def _decode(self) -> None:
        up = self.upload or {}
        name, size = str(up.get("name") or "upload"), int(up.get("size") or 0)
        data = None
        if not up.get("refused"):
            try:
                data = base64.b64decode(str(up.get("b64", "")), validate=True)
            except (binascii.Error, ValueError):
                data = None
            if data is not None and len(data) > self.max_bytes:  # the browser's check is a courtesy
                data = None
        self.received = (name, data, size if data is None else len(data))

    def send(self, filename: str, data: bytes) -> None:
        """Upload ``data`` as if the browser had (tests, notebooks)."""
        serial = int((self.upload or {}).get("serial", 0)) + 1
        if len(data) > self.max_bytes:
            self.upload = {"name": filename, "size": len(data), "refused": True, "serial": serial}
        else:
            self.upload = {"name": filename, "size": len(data), "b64": base64.b64encode(data).decode(),
                           "serial": serial}
