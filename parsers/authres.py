"""Authentication-Results (RFC 8601): the SPF/DKIM/DMARC verdicts our own receiving server
recorded. Only the topmost header carrying the configured authserv-id counts; anything below
it or with another id could have been written by the sender and is ignored."""

from __future__ import annotations

import re
from dataclasses import dataclass

_METHOD = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str = ""
    spf: str = ""  # pass | fail | softfail | neutral | none | temperror | permerror | ""
    dkim: str = ""
    dmarc: str = ""

    @property
    def dmarc_failed(self) -> bool:
        return self.dmarc == "fail"


def _strip_comments(value: str) -> str:
    out, depth = [], 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def read(headers: tuple[tuple[str, str], ...], authserv_id: str) -> AuthResults | None:
    """Verdicts from the topmost Authentication-Results header added by `authserv_id`.

    `headers` are (lower-case name, value) pairs in message order (topmost first). Returns None
    when no header of ours is present (or no authserv-id is configured). Our server prepends
    its header and (RFC 8601 §5) removes sender-supplied ones bearing its id, so the topmost
    one is genuine and any lower copy is a forgery, ignored."""
    if not authserv_id:
        return None
    for name, value in headers:
        if name != "authentication-results":
            continue
        text = _strip_comments(value)
        server = text.split(";", 1)[0].strip().split()[0] if text.strip() else ""
        if server.lower() != authserv_id.lower():
            continue  # another server's (or the sender's) header: not evidence for us
        verdicts: dict[str, str] = {}
        for clause in text.split(";")[1:]:
            m = _METHOD.search(clause)
            if m and m.group(1).lower() not in verdicts:
                verdicts[m.group(1).lower()] = m.group(2).lower()
        return AuthResults(
            authserv_id=server,
            spf=verdicts.get("spf", ""),
            dkim=verdicts.get("dkim", ""),
            dmarc=verdicts.get("dmarc", ""),
        )
    return None
