"""Pure readers: bytes (+ filename) in, frozen dataclasses out. No sockets, sessions or paths."""
