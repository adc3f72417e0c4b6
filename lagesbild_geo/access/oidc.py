"""OpenID Connect bearer tokens from the municipality's identity provider (Keycloak, Entra ID).

A token is a JWT signed by the provider; :class:`Validator` checks it with PyJWT against the
provider's published keys (JWKS), then maps its claims to a Lägesbild identity by the settings
(``LAGESBILD_OIDC_*``; docs/access.md says how to set up Keycloak and Entra ID).

What is refused, each as an :class:`~lagesbild_geo.errors.AuthenticationError` (401), never a
500 and never the public: a token that is malformed, expired or not yet valid (beyond
``oidc_leeway_s``), from another issuer, for another audience, signed with ``none``, with a
symmetric algorithm (HS256 "signed" with the provider's public key: algorithm confusion) or an
algorithm other than its key's, with a forged signature, naming a key the provider does not
publish, or carrying no Lägesbild role. A provider that cannot be reached is a 401 too (the
caller cannot be authenticated), logged as a warning for the operator.

One validator per process: the keys are fetched once and kept ``oidc_jwks_cache_s`` seconds;
a token naming an unknown key (the provider rotated its keys) fetches them again at once, but
at most every ``refresh_cooldown_s`` seconds, so tokens with made-up key ids cannot make the
server hammer the provider. A validation with the keys cached costs about 0.4 ms (RS256, 2048
bits) or 0.6 ms (ES256), measured by tests/access/test_oidc.py (``-s`` prints it).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from lagesbild_geo.access.identity import MUNICIPALITY_ROLES, ROLES, Identity
from lagesbild_geo.errors import AuthenticationError, InputError
from lagesbild_geo.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a request to the provider (discovery, JWKS) may take before it counts as down.
HTTP_TIMEOUT_S = 5.0
#: After the provider could not be reached, tokens are refused without asking it again for
#: this long: a provider that is down must not hold every request for HTTP_TIMEOUT_S.
RETRY_AFTER_FAILURE_S = 10.0
#: How long a positive answer of ``actor_exists`` is kept (actors are added, rarely removed).
ACTOR_CACHE_S = 60.0
#: What an actor claim may hold: an actor id (lagesbild.actor's check).
_ACTOR_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")

_INVALID = "The bearer token is not valid"


def parse_role_map(text: str) -> dict[str, str]:
    """``LAGESBILD_OIDC_ROLE_MAP`` as provider role -> Lägesbild role.

    >>> parse_role_map("lagesbild-granskare=reviewer, lagesbild-aktor=actor")
    {'lagesbild-granskare': 'reviewer', 'lagesbild-aktor': 'actor'}
    """
    mapping: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, sep, role = (part.strip() for part in entry.partition("="))
        if not sep or not name or role not in ROLES:
            raise InputError(
                f"LAGESBILD_OIDC_ROLE_MAP: {entry!r} is not 'provider-role=ROLE' with ROLE one "
                f"of {', '.join(ROLES)}"
            )
        mapping[name] = role
    return mapping


def claim(claims: dict[str, Any], path: str) -> Any:
    """The claim named ``path``: the name itself if present (Entra ID's ``extn.x`` claims
    hold dots), else a dotted path into nested objects (Keycloak's ``realm_access.roles``).

    >>> claim({"realm_access": {"roles": ["a"]}}, "realm_access.roles")
    ['a']
    >>> claim({"extn.actor": "polisen"}, "extn.actor"), claim({}, "a.b")
    ('polisen', None)
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Validator:
    """Bearer tokens of the configured provider -> :class:`Identity` (build once per process).

    ``actor_exists(actor_id)`` (optional) checks that an actor token's actor is registered;
    its positive answers are kept ACTOR_CACHE_S seconds, so the database is asked at most
    once a minute per actor. Without it the claim is only checked to be an actor id.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        actor_exists: Callable[[str], bool] | None = None,
        refresh_cooldown_s: float = 30.0,
    ):
        self.issuer = settings.oidc_issuer
        self.audience = [a.strip() for a in (settings.oidc_audience or "").split(",") if a.strip()]
        if self.issuer and not self.audience:
            raise InputError(
                "LAGESBILD_OIDC_AUDIENCE is required with LAGESBILD_OIDC_ISSUER: without it a "
                "token the provider issued to any other application would be accepted"
            )
        self.algorithms = settings.oidc_algorithms.split(",")
        self.role_claim = settings.oidc_role_claim
        self.role_map = parse_role_map(settings.oidc_role_map)
        self.actor_claim = settings.oidc_actor_claim
        self.leeway_s = settings.oidc_leeway_s
        self._jwks_url = settings.oidc_jwks_url
        self._cache_s = settings.oidc_jwks_cache_s
        self._cooldown_s = refresh_cooldown_s
        self._actor_exists = actor_exists
        self._actors_seen: dict[str, float] = {}
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0

    # -- the token -------------------------------------------------------------------------

    def identity(self, token: str) -> Identity:
        """The caller ``token`` authenticates, or :class:`AuthenticationError` saying why."""
        if not self.issuer:
            raise AuthenticationError(
                "Bearer tokens are not accepted here: no identity provider is configured "
                "(LAGESBILD_OIDC_ISSUER); use an API key"
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError(f"{_INVALID}: it is not a signed JWT") from None
        if header.get("alg") not in self.algorithms:
            # none, HS256 and any algorithm not configured, before any key is looked up
            raise AuthenticationError(
                f"{_INVALID}: its signature algorithm is not accepted (accepted: "
                f"{', '.join(self.algorithms)})"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError(f"{_INVALID}: it names no signing key (kid)")
        key = self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"{_INVALID}: {_reason(exc)}") from None
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        held = claim(claims, self.role_claim)
        names = [held] if isinstance(held, str) else held if isinstance(held, list) else []
        names = [n for n in names if isinstance(n, str)]
        roles = frozenset(
            self.role_map[n] for n in names if isinstance(n, str) and n in self.role_map
        )
        if not roles:
            raise AuthenticationError(
                f"{_INVALID} here: it carries no Lägesbild role (claim {self.role_claim!r}; "
                "the roles LAGESBILD_OIDC_ROLE_MAP maps)"
            )
        actor_id = None
        if "actor" in roles:
            if roles & MUNICIPALITY_ROLES:
                raise AuthenticationError(
                    f"{_INVALID} here: it carries both an actor role and a municipality role; "
                    "an actor's account and a municipality account must be separate"
                )
            actor_id = self._actor(claim(claims, self.actor_claim))
        name = next(
            (claims[c] for c in ("preferred_username", "name", "email") if claims.get(c)),
            claims["sub"],
        )
        return Identity(
            principal=f"oidc:{claims['sub']}",
            roles=roles,
            actor_id=actor_id,
            via="bearer",
            name=str(name),
        )

    def _actor(self, value: Any) -> str:
        if not isinstance(value, str) or not _ACTOR_ID.match(value):
            raise AuthenticationError(
                f"{_INVALID} here: an actor's token names its actor in the claim "
                f"{self.actor_claim!r} (an id from 'lagesbild actors list')"
            )
        if self._actor_exists is None or time.monotonic() < self._actors_seen.get(value, 0.0):
            return value
        if not self._actor_exists(value):
            raise AuthenticationError(f"{_INVALID} here: its actor {value!r} is not registered")
        self._actors_seen[value] = time.monotonic() + ACTOR_CACHE_S
        return value

    # -- the provider's keys -----------------------------------------------------------------

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        if time.monotonic() < self._down_until:
            raise AuthenticationError(_UNREACHABLE)
        try:
            return self._keys().get_signing_key(kid)
        except jwt.PyJWKClientError as exc:
            # PyJWT 2.15 raises this one class for a kid missing from the keys and for a JWKS
            # that is not a key set; only the first is the token's fault
            if not isinstance(exc, jwt.PyJWKClientConnectionError) and str(exc).startswith(
                "Unable to find a signing key"
            ):
                raise AuthenticationError(
                    f"{_INVALID}: it is signed with a key the identity provider does not publish"
                ) from None
            failure: Exception = exc
        except (jwt.PyJWKSetError, _ProviderError, ValueError) as exc:  # ValueError: not JSON
            failure = exc
        self._down_until = time.monotonic() + RETRY_AFTER_FAILURE_S
        log.warning("OIDC: the identity provider's signing keys cannot be had: %s", failure)
        raise AuthenticationError(_UNREACHABLE)

    def _keys(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover()
                self._client = jwt.PyJWKClient(
                    url,
                    cache_jwk_set=True,
                    lifespan=self._cache_s,
                    timeout=HTTP_TIMEOUT_S,
                    cooldown_duration=self._cooldown_s,
                )
            return self._client

    def _discover(self) -> str:
        """``jwks_uri`` of the provider's ``/.well-known/openid-configuration``."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
                document = json.load(response)
        except (OSError, ValueError) as exc:  # urllib.error.URLError is an OSError
            raise _ProviderError(f"{url}: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
            raise _ProviderError(f"{url}: no jwks_uri in the discovery document")
        if document.get("issuer") != self.issuer:
            raise _ProviderError(
                f"{url}: the discovery document names the issuer {document.get('issuer')!r}, "
                f"not LAGESBILD_OIDC_ISSUER {self.issuer!r}"
            )
        return document["jwks_uri"]


_UNREACHABLE = (
    "The bearer token cannot be checked right now: the identity provider's signing keys "
    "cannot be fetched; try again shortly or use an API key"
)


class _ProviderError(Exception):
    """The provider's discovery document cannot be read or does not fit the settings."""


def _reason(exc: jwt.PyJWTError) -> str:
    """Why PyJWT refused a token, in the caller's terms (never the token's content)."""
    reasons: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.ExpiredSignatureError, "it has expired"),
        (jwt.ImmatureSignatureError, "it is not valid yet (nbf or iat in the future)"),
        (jwt.InvalidAudienceError, "it is issued for another audience"),
        (jwt.InvalidIssuerError, "it is issued by another issuer"),
        (jwt.MissingRequiredClaimError, "it lacks a required claim (exp, iss, aud or sub)"),
        (jwt.InvalidAlgorithmError, "its algorithm does not match its signing key"),
        (jwt.InvalidSignatureError, "its signature does not match"),
    ]
    return next((text for cls, text in reasons if isinstance(exc, cls)), "it is malformed")
