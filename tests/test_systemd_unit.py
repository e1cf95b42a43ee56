"""contrib/intake.service: the hardening the README promises is in the file, and
`systemd-analyze security --offline=yes` scores it at most 2.0 (run when systemd-analyze is
installed; in CI it must be)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.support.config import ROOT

UNIT = ROOT / "contrib" / "intake.service"
MAX_EXPOSURE = 2.0


def _service_section() -> dict[str, list[str]]:
    """[Service] directives; a key given twice keeps both values, as systemd does."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, value = line.partition("=")
        if section == "[Service]":
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_filters_syscalls_hides_proc_limits_sockets_and_memory() -> None:
    svc = _service_section()
    assert "@system-service" in svc["SystemCallFilter"]
    assert "~@privileged @resources" in svc["SystemCallFilter"]
    assert svc["ProtectProc"] == ["invisible"]
    assert sorted(svc["RestrictAddressFamilies"][-1].split()) == ["AF_INET", "AF_INET6", "AF_UNIX"]
    (memory_max,) = svc["MemoryMax"]
    m = re.fullmatch(r"(\d+)([MG])", memory_max)
    assert m, memory_max
    mib = int(m.group(1)) * (1024 if m.group(2) == "G" else 1)
    # above 2 parse workers at their address-space cap (1536 MiB each) plus the daemon, so the
    # worker's own cap (a quarantined message) trips before the service is killed
    assert 2 * 1536 + 256 <= mib <= 8192
    for key, value in (
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("CapabilityBoundingSet", ""),
        ("ReadWritePaths", "/var/lib/intake"),
    ):
        assert svc[key] == [value], key


def test_systemd_analyze_scores_the_unit_at_most_2() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("systemd-analyze is required in CI (Debian package systemd)")
        pytest.skip("systemd-analyze is not installed")
    r = subprocess.run(
        [tool, "security", "--offline=yes", str(UNIT)], capture_output=True, text=True, timeout=60
    )
    m = re.search(r"Overall exposure level for intake\.service: (\d+\.\d+)", r.stdout)
    assert m, r.stdout[-2000:] + r.stderr[-2000:]
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
