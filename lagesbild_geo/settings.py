"""Settings, read from the environment with the prefix ``LAGESBILD_``.

Settings are created where they are needed (``Settings()``) and passed down as arguments;
nothing is read at import time, so tests build their own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the data lives and how the public outputs are protected."""

    model_config = SettingsConfigDict(env_prefix="LAGESBILD_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="An existing PostGIS (postgresql://user:pass@host:port/db). "
        "When unset, the embedded cluster in data_dir is used.",
    )
    data_dir: Path = Field(
        default=REPO_ROOT / "var",
        description="Folder for the embedded PostGIS cluster, logs and the generated OpenAPI.",
    )
    pg_port: int = Field(default=54329, description="Port of the embedded PostGIS cluster.")
    pg_database: str = Field(default="lagesbild")
    pg_user: str = Field(default="lagesbild")
    k: int = Field(
        default=5,
        ge=2,
        description="Smallest count that may be published; 1..k-1 are shown as suppressed.",
    )
    host: str = Field(default="127.0.0.1", description="Address pygeoapi listens on.")
    port: int = Field(default=5000, description="Port pygeoapi listens on.")
    workers: int = Field(default=2, ge=1)

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "pgdata"

    def resolved_database_url(self) -> str:
        """The SQLAlchemy/psycopg URL everything connects to."""
        if self.database_url:
            return self.database_url
        return f"postgresql://{self.pg_user}@127.0.0.1:{self.pg_port}/{self.pg_database}"
