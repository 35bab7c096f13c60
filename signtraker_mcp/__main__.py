"""Run the MCP server with `python -m signtraker_mcp`, or as a script path, as bundle hosts may do."""

import sys

from signtraker_mcp.cli import main

sys.exit(main())
