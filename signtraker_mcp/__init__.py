"""MCP server for SignTraker yard-sign orders."""

__version__ = "0.1.0"

__all__ = ["__version__"]
