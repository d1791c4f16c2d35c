"""Settings from the environment (`SWFLOW_*`) and `$SWFLOW_HOME/swflow.env`."""

from __future__ import annotations

import base64
import os
import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "Settings",
    "get_settings",
    "home_dir",
    "prefect_env",
    "use_prefect_settings",
    "ensure_api_secret",
    "api_headers",
]


def home_dir() -> Path:
    """SWFLOW_HOME, defaulting to ~/.swflow; read before the settings file it contains."""
    return Path(os.environ.get("SWFLOW_HOME") or Path.home() / ".swflow").expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWFLOW_", extra="ignore")

    home: Path = Field(default_factory=home_dir)
    database_url: str | None = None
    prefect_port: int = 4200
    prefect_api_url: str | None = Field(
        default=None, description="an external Prefect API; when set, `swflow serve` starts none"
    )
    runner_poll_seconds: int = Field(default=1, ge=1, description="seconds between the runner's looks for runs")
    runner_limit: int = Field(default=4, ge=1, description="flow runs executing at once; each is a process (~150 MiB)")
    flow_start: Literal["forkserver", "spawn"] = Field(
        default="forkserver", description="how a flow run's process starts: a fork of a preloaded server, or cold"
    )
    dispatch_interval_seconds: float = 1.0
    now: datetime | None = Field(default=None, description="override the clock (tests, demo)")
    timezone: str = "Asia/Shanghai"
    workday_end_hour: int = 18
    public_url: str | None = Field(default=None, description="base of links in messages")
    max_send_attempts: int = 6
    outbox_lease_seconds: float = Field(
        default=120.0, gt=0, description="a claimed message stays with its dispatcher this long (> the slowest send)"
    )
    workday_start_hour: int = 9
    hold_outside_working_hours: bool = Field(
        default=True, description="non-urgent messages made outside working hours wait for the next working morning"
    )
    digest: bool = Field(default=True, description="one deadline message per person per sweep")
    sweep_interval_minutes: int = 15
    prefect_auth: SecretStr | None = Field(
        default=None,
        description="user:password of the Prefect API's basic auth; generated for the embedded server",
    )
    reconcile_interval_seconds: float = Field(default=15.0, gt=0, description="how often serve checks every run")
    pending_bound_seconds: float = Field(default=120.0, gt=0, description="a run Pending longer has lost its runner")
    heartbeat_seconds: float = Field(default=10.0, gt=0, description="how often a flow's process says it is alive")
    dead_after_seconds: float = Field(
        default=60.0, gt=0, description="a Running run whose process has said nothing for this long is dead"
    )
    scheduled_bound_seconds: float = Field(
        default=3600.0, gt=0, description="a run still Scheduled this long after its start time is stranded"
    )
    web_host: str = Field(default="127.0.0.1", description="where `swflow serve` serves the web app")
    web_port: int = Field(default=8400, ge=1, le=65535)
    web_workers: int = Field(
        default=2, ge=1, le=32, description="web app processes (each ~90 MB): about one per core the agency gives it"
    )
    web_secret: SecretStr | None = Field(default=None, description="signs session cookies and links; made by serve")
    checkpoint_key: Path | None = Field(
        default=None, description="the Ed25519 key that signs checkpoints (default SWFLOW_HOME/keys/checkpoint.pem)"
    )
    checkpoint_log: Path | None = Field(
        default=None, description="the append-only log of signed checkpoints (default SWFLOW_HOME/checkpoints.jsonl)"
    )
    checkpoint_interval_minutes: float = Field(default=60.0, gt=0, description="how often serve signs a checkpoint")
    session_idle_minutes: int = Field(default=60, ge=1, description="a web session unused this long is over")
    link_hours: int = Field(default=72, ge=1, description="how long a signed link in a message stays valid")
    stop_grace_seconds: float = Field(default=30.0, ge=0, description="a graceful stop waits this long for runs")
    result_storage: Path | None = Field(
        default=None,
        description="where flow runs keep their results (default Prefect's folder in the home); on a cluster "
        "a folder every worker mounts, so a gate suspended on one worker resumes on another",
    )

    @property
    def archive_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'archive.db'}"

    @property
    def api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def web_url(self) -> str:
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::") else self.web_host
        return f"http://{host}:{self.web_port}"

    @property
    def link_base(self) -> str:
        """Where links in messages point: the web app (SWFLOW_PUBLIC_URL when people reach it elsewhere)."""
        return (self.public_url or self.web_url).rstrip("/")

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env_file = home_dir() / "swflow.env"
    return Settings(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]


def _append_secret(settings: Settings, name: str, value: str, comment: str) -> None:
    env_file = settings.home / "swflow.env"
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(env_file, "a", encoding="utf-8") as out:
        out.write(f"# {comment}\n{name}={value}\n")
    os.chmod(env_file, 0o600)


def ensure_api_secret(settings: Settings) -> Settings:
    """Secrets made once into `swflow.env` (readable by its owner only): the embedded Prefect API's
    password (it takes only swflow's own processes) and the key that signs web sessions and links.
    Returns the settings that carry them."""
    changed = False
    if settings.prefect_auth is None and settings.prefect_api_url is None:
        value = f"swflow:{secrets.token_urlsafe(24)}"
        _append_secret(settings, "SWFLOW_PREFECT_AUTH", value, "Prefect API 的访问口令（只供 swflow 自己的进程使用）")
        changed = True
    if settings.web_secret is None:
        _append_secret(settings, "SWFLOW_WEB_SECRET", secrets.token_urlsafe(32), "签署网页会话和消息中链接的密钥")
        changed = True
    if not changed:
        return settings
    get_settings.cache_clear()
    return get_settings()


def api_headers(settings: Settings) -> dict[str, str]:
    """The Authorization header swflow's own REST calls carry (none when the API has no auth)."""
    if settings.prefect_auth is None:
        return {}
    token = base64.b64encode(settings.prefect_auth.get_secret_value().encode()).decode()
    return {"Authorization": f"Basic {token}"}


def prefect_env(settings: Settings) -> dict[str, str]:
    """The Prefect settings every swflow process uses: its own home, one API, no telemetry."""
    auth = {}
    if settings.prefect_auth is not None:
        secret = settings.prefect_auth.get_secret_value()
        auth = {"PREFECT_API_AUTH_STRING": secret}
        if settings.prefect_api_url is None:  # the embedded server checks it
            auth["PREFECT_SERVER_API_AUTH_STRING"] = secret
    storage = {}
    if settings.result_storage is not None:
        storage = {"PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(settings.result_storage)}
    return {
        **auth,
        **storage,
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_API_URL": settings.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": str(settings.runner_poll_seconds),
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_CLI_PROMPT": "false",
        # the embedded server keeps its state in SQLite: wait for the lock instead of failing,
        # and switch off services swflow does not use (automations, work pools, late-run marking)
        "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
        "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    }


def use_prefect_settings(settings: Settings | None = None) -> None:
    """Point this process at swflow's Prefect API; call before `import prefect`."""
    os.environ.update(prefect_env(settings or get_settings()))
