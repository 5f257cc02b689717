"""Dovecot (IMAP, from Debian's packages) on loopback for the email tests: run unprivileged from a
generated config in a temporary folder, STARTTLS on one port and IMAPS on another, login only after TLS.
Neither the system's config nor a root daemon is used."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fakes.loopback import free_port
from tests.fakes.mailservers import PASSWORD, USER, TlsFiles

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = patron-desk-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
  chroot =
  user = {user}
}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""


def dovecot_binary() -> str | None:
    """The Dovecot master, if Debian's package is installed."""
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


class Dovecot:
    """A Dovecot IMAP server on two free loopback ports, as an unprivileged user.

    Run as root (CI), it runs as ``nobody`` through ``setpriv``; otherwise as the current user.
    ``port`` offers STARTTLS, ``tls_port`` is IMAPS; a login before TLS is refused.
    """

    def __init__(self, tls: TlsFiles, *, idle: bool = True) -> None:
        self.idle = idle
        self.root = Path(tempfile.mkdtemp(prefix="pd-dovecot-"))
        self.port = free_port()
        self.tls_port = free_port()
        self.tls = tls
        shutil.copy(tls.cert, self.root / "cert.pem")
        shutil.copy(tls.key, self.root / "key.pem")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        binary = dovecot_binary()
        assert binary is not None, "dovecot is not installed (apt-get install -y dovecot-imapd)"
        as_root = os.geteuid() == 0
        user = "nobody" if as_root else pwd.getpwuid(os.getuid()).pw_name
        group = "nogroup" if as_root else _group_name()
        conf = self.root / "dovecot.conf"
        values = {
            "root": self.root,
            "port": self.port,
            "tls_port": self.tls_port,
            "user": user,
            "group": group,
        }
        text = DOVECOT_CONF.format(**values)
        if not self.idle:  # a server without IDLE: the source must poll
            text += "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+\n"
        conf.write_text(text)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        command = [binary, "-F", "-c", str(conf)]
        if as_root:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
            self.root.chmod(0o755)
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        _wait_for_port(self.port, self._process, self.log)
        _wait_for_port(self.tls_port, self._process, self.log)
        return self

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def url(self, mailbox: str = "INBOX", *, tls: bool = False, password: str = PASSWORD) -> str:
        """``imap://`` (STARTTLS) or ``imaps://`` for the test account, credentials percent-encoded."""
        from urllib.parse import quote

        scheme, port = ("imaps", self.tls_port) if tls else ("imap", self.port)
        return f"{scheme}://{quote(USER, safe='')}:{quote(password, safe='')}@127.0.0.1:{port}/{mailbox}"

    def client(self) -> imaplib.IMAP4:
        """A logged-in client for the test's own moves (APPEND, CREATE, DELETE)."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.starttls(ssl_context=self.tls.client_context())
        imap.login(USER, PASSWORD)
        return imap

    def append(self, raw: bytes, mailbox: str = "INBOX", *, arrived: float | None = None) -> None:
        """Deliver one message, as an MTA would (``arrived``: its INTERNALDATE, unix time)."""
        imap = self.client()
        try:
            when = imaplib.Time2Internaldate(arrived) if arrived is not None else None
            status, _ = imap.append(f'"{mailbox}"', None, when, raw)
            assert status == "OK"
        finally:
            imap.logout()

    def create(self, mailbox: str) -> None:
        imap = self.client()
        try:
            imap.create(f'"{mailbox}"')
        finally:
            imap.logout()

    def renumber(self, mailbox: str, messages: list[bytes], *, arrived: float | None = None) -> None:
        """Delete and re-create ``mailbox`` with ``messages``: a new UIDVALIDITY, UIDs from 1."""
        imap = self.client()
        try:
            assert imap.delete(f'"{mailbox}"')[0] == "OK"
            assert imap.create(f'"{mailbox}"')[0] == "OK"
        finally:
            imap.logout()
        for raw in messages:
            self.append(raw, mailbox, arrived=arrived)

    def uidvalidity(self, mailbox: str) -> int:
        imap = self.client()
        try:
            status, data = imap.status(f'"{mailbox}"', "(UIDVALIDITY)")
            assert status == "OK"
            return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))
        finally:
            imap.logout()

    def restart(self) -> None:
        """Stop the server (every connection drops) and start it again on the same ports and mail."""
        self._halt()
        self.start()

    def stop(self) -> None:
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def _halt(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()


def _group_name() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {err}\n{log()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}\n{log()}")
