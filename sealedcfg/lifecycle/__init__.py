"""Key lifecycle: metadata, expiry status, providers, rotation with history, audit.

Built on the engine (`access.opened`, `sealing.reseal`, `sealing.seal_node`):
these modules decide *what* to seal and with which metadata; the engine seals.
FORMAT.md §9 specifies the metadata names and the history entries.
"""
