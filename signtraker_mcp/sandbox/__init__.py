"""A local stand-in of the SignTraker REST API, backed by SQLite, for demos and tests.

``start_sandbox(path)`` opens (and seeds on first use) a SQLite database and serves
the API over HTTP on a loopback port from a background thread.
"""

from .app import create_app
from .paths import default_database_path
from .runner import RunningSandbox, start_sandbox
from .store import SandboxStore

__all__ = ["RunningSandbox", "SandboxStore", "create_app", "default_database_path", "start_sandbox"]
