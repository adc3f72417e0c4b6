"""Every ``LAGESBILD_*`` setting, in one pydantic-settings model.

The model is built at the entry points only — the command line (``lagesbild …``), the server's
start (``lagesbild serve``) and a server worker (:func:`lagesbild_geo.server.app.create_app`) —
and passed down as an argument; nothing else in the package reads ``os.environ``, and nothing
is read at import time, so tests build their own ``Settings(...)``.

``lagesbild config`` prints the effective values with the secrets masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_COUNT = 100_000
"""Largest count (or share numerator or denominator) one delivered cell may hold: one area, one
ISO week, one indicator. A NYKO level-3 area has a few thousand inhabitants (DeSO areas 700 to
2,700, the largest NYKO-3 areas about 20,000), so no weekly count of events in one, nor a number
of pupils or children behind a share, comes near 100,000; a larger number is a typing or export
error (a personnummer or a phone number in the count column, 2^63 - 1 from a broken export).
It also keeps every sum the publication and the analyses form (years x areas) far from int64."""
EARLIEST_DATE = date(2000, 1, 1)
"""Earliest date (and ISO week) a delivery may name. The actors' systems of record (police
reports, rescue reports, housing companies' case systems) do not reach back further, and an
EST baseline of more than two decades is ample; what lies before is a wrong century (1900,
0001), Excel's zero date (1899-12-30, 1900-01-00) or a typed year (1026 for 2026). A
municipality loading older history raises LAGESBILD_EARLIEST_DATE."""
MAX_REFERENCE_LENGTH = 64
"""Longest reference (``referens``) accepted, in characters. A reference is a short id into
the actor's own system: a police report number (``5000-K123456-26``, 15), a case number, a
UUID (36); 64 leaves room for prefixes. Anything longer is text, not an id (and a 1 MB cell
is refused without being scanned further than its length)."""

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                         "ES512", "EdDSA")  # fmt: skip
"""The JWT signature algorithms a bearer token may use: public-key ones only."""


@dataclass(frozen=True)
class DeliveryLimits:
    """The plausible range of what a delivery holds, passed from the settings to the ingest."""

    max_count: int = MAX_COUNT
    earliest_date: date = EARLIEST_DATE
    max_reference_length: int = MAX_REFERENCE_LENGTH


def _packaged_pygeoapi_config() -> Path:
    """The deployer-facing ``pygeoapi-config.yml``.

    In the repository, ``lagesbild_geo/server/pygeoapi-config.yml`` is a symbolic link to the
    top-level file, so an editable install reads the top-level file itself and a built wheel
    carries a copy of it.
    """
    return Path(str(resources.files("lagesbild_geo.server") / "pygeoapi-config.yml"))


class Settings(BaseSettings):
    """Where the data lives, how the public outputs are protected, how the server runs."""

    model_config = SettingsConfigDict(env_prefix="LAGESBILD_", extra="ignore")

    # -- database ---------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="An existing PostGIS (postgresql://user:pass@host:port/db), connected to as "
        "its owner. When unset, the embedded cluster in data_dir is used.",
    )
    public_database_url: str | None = Field(
        default=None,
        description="The public server's own connection on an existing PostGIS: a role that may "
        "only SELECT in schema publish. When unset, the embedded cluster's lagesbild_reader.",
    )
    server_database_url: str | None = Field(
        default=None,
        description="The server's connection for authenticated requests on an existing "
        "PostGIS: a login role granted what lagesbild_server is (docs/access.md). When unset, "
        "the embedded cluster's lagesbild_server.",
    )
    jobs_database_url: str | None = Field(
        default=None,
        description="The job manager's connection on an existing PostGIS: a login role granted "
        "what lagesbild_jobs is (docs/access.md). When unset, the embedded cluster's "
        "lagesbild_jobs.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "var",
        description="Folder for the embedded PostGIS cluster, logs, the generated pygeoapi "
        "configuration and OpenAPI document, and job results. Default: ./var.",
    )
    pg_port: int = Field(default=54329, description="Port of the embedded PostGIS cluster.")
    pg_database: str = Field(default="lagesbild", description="Database of the embedded cluster.")
    pg_user: str = Field(default="lagesbild", description="Owner role of the embedded cluster.")
    pg_bindir: Path | None = Field(
        default=None,
        description="Folder of PostgreSQL's server programs (initdb, pg_ctl). Default: Debian's "
        "newest /usr/lib/postgresql/*/bin, then PATH.",
    )

    # -- protection -------------------------------------------------------------------------
    k: int = Field(
        default=5,
        ge=2,
        description="The protection threshold: every published figure is consistent with at "
        "least k-1 true values (docs/disclosure.md); also the cell key method's D = k-2.",
    )
    ckm_d: int | None = Field(
        default=None,
        ge=1,
        description="Cell key method: largest perturbation per actor and cell (default k-2).",
    )
    ckm_v: float | None = Field(
        default=None,
        gt=0,
        description="Cell key method: variance of the perturbation (default 1).",
    )

    # -- deliveries ---------------------------------------------------------------------------
    max_count: int = Field(
        default=MAX_COUNT,
        ge=1,
        description="Largest count per area, week and indicator a delivery may hold (also a "
        "share's numerator and denominator); larger ones are refused as implausible.",
    )
    earliest_date: date = Field(
        default=EARLIEST_DATE,
        description="Earliest date or ISO week a delivery may name; earlier ones are refused.",
    )
    max_reference_length: int = Field(
        default=MAX_REFERENCE_LENGTH,
        ge=1,
        le=10_000,
        description="Longest reference (referens) a delivered row may carry, in characters.",
    )

    # -- server -----------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address pygeoapi listens on.")
    port: int = Field(default=5000, description="Port pygeoapi listens on.")
    workers: int = Field(default=2, ge=1, description="gunicorn worker processes.")
    server_url: str | None = Field(
        default=None,
        description="The public URL clients reach the service at (links in every response). "
        "Default: http://HOST:PORT.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="ERROR", description="pygeoapi's log level."
    )
    pygeoapi_config: Path = Field(
        default_factory=_packaged_pygeoapi_config,
        description="The pygeoapi configuration template the server starts from. Default: the "
        "repository's top-level pygeoapi-config.yml (a copy of it in a non-editable install).",
    )
    js_dir: Path = Field(
        default=Path("/usr/share/javascript"),
        description="Where Debian's libjs-leaflet and libjs-bootstrap5 put Leaflet and Bootstrap, "
        "served by the HTML pages instead of a CDN.",
    )

    # -- the embeddable trend map (/karta, lagesbild_geo/server/karta.py) ------------------
    map_tiles_url: str = Field(
        default="",
        description="Background tiles of the trend map at /karta: a Leaflet URL template "
        "(https://{s}.example.se/{z}/{x}/{y}.png). Empty (the default): no background, the area "
        "outlines are the map and the visitor's browser talks to this service only.",
    )
    map_tiles_attribution: str = Field(
        default="",
        description="The tile service's attribution shown on the trend map (plain text).",
    )
    map_frame_ancestors: str = Field(
        default="*",
        description="Who may embed /karta in an iframe: the CSP frame-ancestors sources, e.g. "
        "'https://karta.kommun.se' ('*': any site; \"'none'\": nobody).",
    )

    # -- jobs of the processes (lagesbild_geo/analysis/jobs.py) -------------------------------
    job_retention_s: int = Field(
        default=86_400,
        ge=1,
        description="Seconds an asynchronous job and its result are kept after it was created; "
        "then removed (lazily, and by 'lagesbild jobs prune').",
    )
    jobs_per_caller: int = Field(
        default=20, ge=1, description="Stored jobs one caller may keep (then 429)."
    )
    job_bytes_per_caller: int = Field(
        default=50_000_000, ge=1, description="Bytes of job results one caller may keep."
    )
    jobs_total: int = Field(default=500, ge=1, description="Stored jobs of all callers.")
    job_bytes_total: int = Field(
        default=1_000_000_000, ge=1, description="Bytes of job results of all callers."
    )

    # -- deliveries over HTTP (POST /deliveries) ---------------------------------------------
    max_delivery_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description="Largest delivery file accepted by POST /deliveries, in bytes; a larger "
        "body is answered with 413 before it is read.",
    )

    # -- OpenID Connect (the municipality's identity provider; docs/access.md) ---------------
    oidc_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer URL, exactly as in its tokens' iss claim "
        "(Keycloak: https://HOST/realms/REALM; Entra ID: https://login.microsoftonline.com/"
        "TENANT/v2.0). When unset, bearer tokens are refused (API keys still work).",
    )
    oidc_audience: str | None = Field(
        default=None,
        description="The aud value a token must carry to be accepted here (the client id or "
        "application ID URI the provider issues tokens for); several separated by commas.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="The provider's JWKS (public signing keys). Default: jwks_uri of "
        "ISSUER/.well-known/openid-configuration.",
    )
    oidc_role_claim: str = Field(
        default="roles",
        description="The claim holding the caller's roles at the provider: a name, or a dotted "
        "path into nested claims (Keycloak realm roles: realm_access.roles).",
    )
    oidc_role_map: str = Field(
        default="",
        description="Provider role -> Lägesbild role (actor, reviewer, analyst, admin), as "
        "'name=role' separated by commas, e.g. 'lagesbild-granskare=reviewer,"
        "lagesbild-aktor=actor'. A token without a mapped role is refused.",
    )
    oidc_actor_claim: str = Field(
        default="lagesbild_actor",
        description="The claim naming the actor (its id in 'lagesbild actors list') that an "
        "actor role's token speaks for.",
    )
    oidc_algorithms: str = Field(
        default="RS256,ES256",
        description="Signature algorithms accepted, separated by commas: asymmetric ones only "
        f"({', '.join(ASYMMETRIC_ALGORITHMS)}); never none or HS*.",
    )
    oidc_leeway_s: int = Field(
        default=30,
        ge=0,
        le=300,
        description="Clock skew tolerated on exp and nbf, in seconds.",
    )
    oidc_jwks_cache_s: int = Field(
        default=300,
        ge=1,
        description="How long the fetched signing keys are kept before they are fetched again; "
        "a token naming an unknown key fetches them at once (at most every 30 s).",
    )

    @field_validator("map_frame_ancestors")
    @classmethod
    def _sources_only(cls, value: str) -> str:
        """The value ends the page's Content-Security-Policy: a ``;`` (or a line break) would
        let a setting add directives (``script-src *``) to the policy."""
        if not value.strip() or any(c in value for c in ";,\r\n"):
            raise ValueError(
                "LAGESBILD_MAP_FRAME_ANCESTORS takes CSP frame-ancestors sources separated by "
                "spaces ('*', \"'self'\", https://karta.kommun.se); no ';' or ','"
            )
        return value.strip()

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: str) -> str:
        """A symmetric algorithm would let anyone holding the provider's public key (which is
        public) sign tokens ("algorithm confusion"); ``none`` needs no key at all."""
        names = [a.strip() for a in value.split(",") if a.strip()]
        refused = [a for a in names if a not in ASYMMETRIC_ALGORITHMS]
        if refused or not names:
            raise ValueError(
                f"LAGESBILD_OIDC_ALGORITHMS may name only {', '.join(ASYMMETRIC_ALGORITHMS)}; "
                f"refused: {', '.join(refused) or 'an empty list'}"
            )
        return ",".join(names)

    def delivery_limits(self) -> DeliveryLimits:
        """What the ingest checks every delivery against (``ingest_file(limits=...)``)."""
        return DeliveryLimits(self.max_count, self.earliest_date, self.max_reference_length)

    @property
    def cluster_dir(self) -> Path:
        """The embedded cluster's data folder."""
        return self.data_dir / "pgdata"

    def effective_server_url(self) -> str:
        """``server_url``, or the address the server listens on."""
        return (self.server_url or f"http://{self.host}:{self.port}").rstrip("/")

    def masked(self) -> dict[str, str]:
        """Every setting as text for ``lagesbild config``, with passwords and tokens masked."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "********" if value.get_secret_value() else ""
            elif isinstance(value, str) and name.endswith("_url"):
                text = _mask_url_password(value)
            else:
                text = "" if value is None else str(value)
            out[f"LAGESBILD_{name.upper()}"] = text
        return out


def _mask_url_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:********@host/db``.

    >>> _mask_url_password("postgresql://reader:s3cret@db:5432/lagesbild")
    'postgresql://reader:********@db:5432/lagesbild'
    >>> _mask_url_password("postgresql://owner@127.0.0.1/lagesbild")
    'postgresql://owner@127.0.0.1/lagesbild'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}:********@{host}" if has_password else url
