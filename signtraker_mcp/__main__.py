"""Run the MCP server with `python -m signtraker_mcp`."""

import sys

from .cli import main

sys.exit(main())
