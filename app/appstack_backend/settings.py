"""The backend's configuration, read once from the environment the deployment wires in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_PORT = 8000
DEFAULT_HOST = "0.0.0.0"


class SettingsError(ValueError):
    """A missing or malformed environment variable, named so an operator can fix it."""


def _split_origins(raw: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Every environment variable the backend reads (names are the deployment's contract)."""

    database_url: str
    """DATABASE_URL: postgresql+psycopg://user:password@host:port/db."""
    redis_url: str
    """REDIS_URL: redis://:password@host:port/0."""
    s3_endpoint: str
    """S3_ENDPOINT: host:port of the object store (a scheme, if given, sets S3_SECURE)."""
    s3_access_key: str = field(repr=False)
    s3_secret_key: str = field(repr=False)
    s3_secure: bool
    """S3_SECURE: talk HTTPS to the object store."""
    s3_bucket_assets: str
    s3_bucket_temp: str
    s3_bucket_backups: str
    cors_origins: list[str]
    """CORS_ORIGINS: comma-separated origins allowed to call the API from a browser."""
    port: int = DEFAULT_PORT
    host: str = DEFAULT_HOST

    @property
    def s3_host(self) -> str:
        """The endpoint without scheme or path, as the MinIO client wants it."""
        if "://" in self.s3_endpoint:
            return urlsplit(self.s3_endpoint).netloc
        return self.s3_endpoint.rstrip("/")

    def secrets(self) -> list[str]:
        """Values that must never appear in a response or log line."""
        values = [self.s3_access_key, self.s3_secret_key]
        for url in (self.database_url, self.redis_url):
            parts = urlsplit(url)
            if parts.password:
                values.append(parts.password)
        return [value for value in values if value]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read and validate all variables at once; one error lists every problem."""
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set")
            return value

        database_url = required("DATABASE_URL")
        if database_url and not database_url.startswith("postgresql"):
            problems.append("DATABASE_URL must be a postgresql+psycopg:// URL")
        redis_url = required("REDIS_URL")
        if redis_url and not redis_url.startswith(("redis://", "rediss://")):
            problems.append("REDIS_URL must be a redis:// URL")
        s3_endpoint = required("S3_ENDPOINT")
        secure_default = "true" if s3_endpoint.startswith("https://") else "false"
        try:
            s3_secure = _parse_bool("S3_SECURE", env.get("S3_SECURE", secure_default))
        except SettingsError as err:
            problems.append(str(err))
            s3_secure = False
        try:
            port = int(env.get("PORT", str(DEFAULT_PORT)))
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            problems.append(f"PORT must be a TCP port number, got {env.get('PORT')!r}")
            port = DEFAULT_PORT
        settings = cls(
            database_url=database_url,
            redis_url=redis_url,
            s3_endpoint=s3_endpoint,
            s3_access_key=required("S3_ACCESS_KEY"),
            s3_secret_key=required("S3_SECRET_KEY"),
            s3_secure=s3_secure,
            s3_bucket_assets=required("S3_BUCKET_ASSETS"),
            s3_bucket_temp=env.get("S3_BUCKET_TEMP", "").strip(),
            s3_bucket_backups=env.get("S3_BUCKET_BACKUPS", "").strip(),
            cors_origins=_split_origins(env.get("CORS_ORIGINS", "")),
            port=port,
            host=env.get("HOST", DEFAULT_HOST).strip() or DEFAULT_HOST,
        )
        if problems:
            raise SettingsError("invalid backend environment: " + "; ".join(problems))
        return settings
