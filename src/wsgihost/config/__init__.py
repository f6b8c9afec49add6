"""The configuration: text to an immutable model (pure: no sockets, no processes)."""
