"""Errors, arranged by what the caller should do.

    IntakeError
    ├── ConfigError        stop at start-up: the config or roster is wrong (names file and key)
    ├── CredentialsError   alert a human: login refused; retrying will not help
    ├── TransientError     retry on the next tick: network, timeout, server busy
    ├── MessageError       set this one message aside (quarantine) with the reason
    └── AlreadyRunning     another daemon holds the lock for this store and mailbox

Boundary modules (`intake/imap.py`, `notifier/smtp.py`) wrap library exceptions into these.
"""


class IntakeError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(IntakeError):
    """The configuration cannot be used; fix it and start again."""


class CredentialsError(IntakeError):
    """A server refused our credentials."""


class TransientError(IntakeError):
    """A passing failure (network, timeout); the next tick tries again."""


class MessageError(IntakeError):
    """One message cannot be processed; it is quarantined with this reason."""


class AlreadyRunning(IntakeError):
    """Another instance already runs on this store and mailbox."""
