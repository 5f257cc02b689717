"""Start a throwaway Synapse homeserver on loopback for tests and benchmarks (no internet needed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from .loopback import free_port

SERVER_NAME = "localhost"
_HUGE = {"per_second": 10_000, "burst_count": 100_000}


def _tune(config: dict[str, Any], *, data: Path, port: int, secret: str) -> dict[str, Any]:
    """Edit the generated config: loopback only, SQLite, nothing fetched from the internet."""
    config.update(
        {
            "listeners": [
                {
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}},
            "public_baseurl": f"http://127.0.0.1:{port}/",
            "registration_shared_secret": secret,
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_media_repo": False,
            "enable_metrics": False,
            "include_profile_data_on_invite": False,
            "require_auth_for_profile_requests": False,
            "rc_message": _HUGE,
            "rc_registration": _HUGE,
            "rc_login": {"address": _HUGE, "account": _HUGE, "failed_attempts": _HUGE},
            "rc_joins": {"local": _HUGE, "remote": _HUGE},
            "rc_joins_per_room": _HUGE,
            "rc_invites": {"per_room": _HUGE, "per_user": _HUGE, "per_issuer": _HUGE},
            "rc_room_creation": _HUGE,
            "rc_admin_redaction": _HUGE,
            "rc_presence": {"per_user": _HUGE},
            "rc_profile": _HUGE,
            "rc_user_directory": _HUGE,
            "rc_reports": _HUGE,
            "rc_delayed_event_mgmt": _HUGE,
        }
    )
    return config


def _quiet_logs(log_config: Path) -> None:
    """Keep Synapse's own log small (WARNING) so it costs little CPU on a shared machine."""
    conf = yaml.safe_load(log_config.read_text())
    conf.setdefault("root", {})["level"] = "WARNING"
    for logger in conf.get("loggers", {}).values():
        logger["level"] = "WARNING"
    log_config.write_text(yaml.safe_dump(conf))


@dataclass(slots=True)
class RegisteredUser:
    """A user created through the shared-secret admin API."""

    user_id: str
    password: str
    access_token: str


@dataclass(slots=True)
class Synapse:
    """A running homeserver in ``workdir``; ``url`` is its client API base."""

    workdir: Path
    port: int
    secret: str
    process: subprocess.Popen[bytes] | None = None
    start_seconds: float = 0.0
    users: dict[str, RegisteredUser] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL of the client API."""
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The end of Synapse's log, for failure messages."""
        paths = [self.workdir / "homeserver.log", self.workdir / "stderr.log"]
        text = "\n".join(p.read_text(errors="replace") for p in paths if p.exists())
        return "\n".join(text.splitlines()[-lines:])

    def start(self, *, timeout: float = 120.0) -> None:
        """Start the server and wait until ``/_matrix/client/versions`` answers."""
        started = time.monotonic()
        stderr = (self.workdir / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.workdir / "homeserver.yaml")],
            cwd=self.workdir,
            stdout=stderr,
            stderr=stderr,
        )
        stderr.close()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/_matrix/client/versions", timeout=2).status_code == 200:
                    self.start_seconds = time.monotonic() - started
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"synapse did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def register(self, localpart: str, *, admin: bool = False, displayname: str = "") -> RegisteredUser:
        """Create a user with the shared-secret admin API (HMAC-SHA1 over the nonce)."""
        if localpart in self.users:
            return self.users[localpart]
        password = secrets.token_urlsafe(12)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = httpx.get(endpoint, timeout=10).json()["nonce"]
        message = "\x00".join([nonce, localpart, password, "admin" if admin else "notadmin"])
        mac = hmac.new(self.secret.encode(), message.encode(), digestmod=hashlib.sha1)
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
            "displayname": displayname or localpart,
        }
        answer = httpx.post(endpoint, json=body, timeout=30)
        answer.raise_for_status()
        data = answer.json()
        user = RegisteredUser(data["user_id"], password, data["access_token"])
        self.users[localpart] = user
        return user


def make_synapse(workdir: Path) -> Synapse:
    """Generate and tune a config in ``workdir`` (the generator also writes the signing key)."""
    port = free_port()
    secret = secrets.token_hex(16)
    data = workdir / "data"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(workdir / "homeserver.yaml"),
            "--data-directory",
            str(data),
            "--generate-config",
            "--report-stats=no",
        ],
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    data.mkdir(parents=True, exist_ok=True)
    path = workdir / "homeserver.yaml"
    config = _tune(yaml.safe_load(path.read_text()), data=data, port=port, secret=secret)
    path.write_text(yaml.safe_dump(config))
    _quiet_logs(Path(config["log_config"]))
    return Synapse(workdir=workdir, port=port, secret=secret)
