"""A local stand-in of the SignTraker API, backed by SQLite, for demos and tests."""
