"""Errors, arranged by what the caller should do.

    IntakeError
    ├── ConfigError        stop at start-up: the config or roster is wrong (names file and key)
    ├── CredentialsError   alert a human: login refused; retrying will not help
    ├── TransientError     retry on the next tick: network, timeout, server busy
    │   └── StoreFault     our own store fails (disk full, read-only, I/O error): the
    │                      whole poll backs off, the heartbeat says why, no message is
    │                      charged; at start-up the daemon refuses to run (exit 2)
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


class StoreFault(TransientError):
    """The file store or the database cannot be written (ENOSPC, EROFS, EIO, EDQUOT, a
    read-only or unreachable database): the daemon's failure, not a message's."""


class MessageError(IntakeError):
    """One message cannot be processed; it is quarantined with this reason. `permanent`: the
    same bytes will fail the same way (a malformed message), so it is quarantined at once
    instead of after the retries a timeout or a dead worker gets."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent

    def __reduce__(self) -> tuple[object, ...]:  # across the worker pipe, `permanent` kept
        return (_message_error, (str(self), self.permanent))


def _message_error(reason: str, permanent: bool) -> MessageError:
    return MessageError(reason, permanent=permanent)


class AlreadyRunning(IntakeError):
    """Another instance already runs on this store and mailbox."""
