"""Report-intake daemon: mailbox → ledger → store → status. The application package."""

__version__ = "0.1.0"
