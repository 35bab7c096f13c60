"""The default location of the sandbox database."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATABASE_FILE_NAME", "default_database_path"]

DATABASE_FILE_NAME = "sandbox.sqlite3"


def default_database_path() -> Path:
    """Return ``$XDG_DATA_HOME/signtraker-mcp/sandbox.sqlite3``, or the same under ``~/.local/share``.

    The XDG Base Directory specification says to ignore an empty or relative
    ``XDG_DATA_HOME``. SandboxStore creates the parent directory when it opens the file.
    """
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "signtraker-mcp" / DATABASE_FILE_NAME
