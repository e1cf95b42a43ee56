"""A private Dovecot for tests: `dovecot -F -c CONF` on a free loopback port, from a config in
a temp dir (none of /etc/dovecot is used). As root, login/auth processes run as dovenull/dovecot
and mail as nobody; as another user, everything runs as that user.

The `dovecot` fixture gives one fresh server per test (start-up is ~40 ms, so no session-scoped
server is needed); `stop()` SIGKILLs the whole process group (an outage or a crash; `start()`
brings it back on the same port and data) and the fixture removes the directory afterwards.
Helpers talk to the server directly: `append` (MULTIAPPEND), `uids`, `folder_count`,
`keywords_count`, `uidvalidity`, `recreate_folder` (a new UIDVALIDITY), `kill_sessions`
(SIGKILL of the `dovecot-test-PORT/imap` processes). The server logs one line per IMAP session
at logout with the number of messages whose body was fetched (`imap_logout_format`), which
`body_fetches()` sums. To see the client's commands or cut its connection at an exact byte, put
`tests.support.faultproxy.FaultProxy` between the app and the server.

`Dovecot(root, oauth2_introspection_url=URL)` (or `running(oauth2_introspection_url=URL)`)
also offers AUTHENTICATE XOAUTH2/OAUTHBEARER through an `oauth2` passdb that introspects every
token at URL (tests/support/oauthserver.py); password logins keep working beside it.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    return Path(DOVECOT).is_file()


def require() -> None:
    """Skip (or, in CI, fail) when Dovecot is not installed."""
    if available():
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("Dovecot is required in CI (make test installs dovecot-imapd)")
    pytest.skip("dovecot is not installed (make test installs dovecot-imapd)")


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = {instance}
log_path = {root}/dovecot.log
info_log_path = {root}/info.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:~/Maildir
imap_logout_format = fetch_body=%{{fetch_body_count}} fetch_hdr=%{{fetch_hdr_count}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
"""


OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""

OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


class Dovecot:
    """One private server with one user (`user`/`password`)."""

    def __init__(
        self,
        root: Path,
        port: int | None = None,
        user: str = "totrunghoc",
        password: str = "Htsd-2021#secret",
        *,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.instance = f"dovecot-test-{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        if os.geteuid() == 0:
            internal, login, uid, gid = "dovecot", "dovenull", "nobody", "nogroup"
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            internal = login = uid = me
            gid = grp.getgrgid(os.getegid()).gr_name
        self.conf = root / "dovecot.conf"
        conf = CONFIG.format(
            root=root,
            instance=self.instance,
            port=self.port,
            internal=internal,
            login=login,
            uid=uid,
            gid=gid,
        )
        if oauth2_introspection_url:
            conf = conf.replace(
                "auth_mechanisms = plain login", "auth_mechanisms = plain login xoauth2 oauthbearer"
            )
            conf += OAUTH2_PASSDB.format(root=root)
            (root / "oauth2.conf.ext").write_text(OAUTH2_ARGS.format(url=oauth2_introspection_url))
        self.conf.write_text(conf)
        (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
        home = root / "home" / user
        home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(home, "nobody", "nogroup")
            shutil.chown(home.parent, "nobody", "nogroup")

    # -- the process ---------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        with (self.root / "stderr.log").open("ab") as err:
            self.proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.conf)],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.proc.returncode}: {self.logs()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.5) as s,
            ):
                s.settimeout(2)
                if s.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not greet on port {self.port}: {self.logs()}")

    def stop(self) -> None:
        """Stop the server (and every session) the hard way, as a crash or an outage would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        # imap session processes run in the same process group; make sure the port is free
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), 0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def logs(self) -> str:
        parts = []
        for name in ("stderr.log", "dovecot.log"):
            p = self.root / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def kill_sessions(self, timeout: float = 5.0) -> int:
        """SIGKILL the IMAP session processes (the server stays up) and wait until they are
        dead: the client sees an abort. Returns how many were killed."""
        pids = _pids_titled(f"{self.instance}/imap")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.002)
        return len(pids)

    # -- the mailbox, seen by a second client -------------------------------------------------
    @contextlib.contextmanager
    def client(self) -> Iterator[IMAPClient]:
        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        c._imap.debug = 0
        c.login(self.user, self.password)
        try:
            yield c
        finally:
            with contextlib.suppress(Exception):
                c.logout()

    def append(self, messages: Sequence[bytes], folder: str = "INBOX") -> None:
        """APPEND `messages` in order (MULTIAPPEND, 50 per command), creating `folder`."""
        with self.client() as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for start in range(0, len(messages), 50):
                c.multiappend(folder, list(messages[start : start + 50]))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return sorted(c.search(["ALL"]))

    def folder_count(self, folder: str = "INBOX") -> int:
        with self.client() as c:
            if not c.folder_exists(folder):
                return 0
            return int(c.select_folder(folder, readonly=True)[b"EXISTS"])

    def keywords_count(self, folder: str, keyword: str) -> int:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return len(c.search(["KEYWORD", keyword]))

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as c:
            return int(c.select_folder(folder, readonly=True)[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str) -> list[bytes]:
        """Delete and recreate `folder` with the same messages (a new UIDVALIDITY), as a
        restore from a backup does. Returns the messages."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            raws = (
                [d[b"BODY[]"] for _, d in sorted(c.fetch(uids, ["BODY.PEEK[]"]).items())]
                if uids
                else []
            )
            c.unselect_folder()
            c.delete_folder(folder)
            c.create_folder(folder)
            for start in range(0, len(raws), 50):
                c.multiappend(folder, raws[start : start + 50])
        return raws

    def body_fetches(self) -> int:
        """Body FETCHes of every IMAP session that has logged out so far."""
        time.sleep(0.2)  # the logout line is written just after the client's LOGOUT
        log = self.root / "info.log"
        if not log.exists():
            return 0
        return sum(int(n) for n in re.findall(r"fetch_body=(\d+)", log.read_text(errors="replace")))


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for the master to reap it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _pids_titled(title: str) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith(title):
            out.append(int(proc.name))
    return out


@contextlib.contextmanager
def running(*, oauth2_introspection_url: str | None = None) -> Iterator[Dovecot]:
    """A started server in its own directory directly under the system temp dir (pytest's are
    0700 and Dovecot's unprivileged processes must traverse it); removed afterwards."""
    require()
    root = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    server = Dovecot(root, oauth2_introspection_url=oauth2_introspection_url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running() as server:
        yield server
