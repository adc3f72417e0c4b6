"""Bearer tokens as an attacker would send them, against a provider the test serves itself.

An RSA and an EC key pair are made here; a thread on 127.0.0.1 serves the discovery document
and the JWKS (counting the requests), and PyJWT signs the tokens. No network is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from lagesbild_geo.access.oidc import Validator
from lagesbild_geo.errors import AuthenticationError, InputError
from lagesbild_geo.settings import Settings

AUDIENCE = "lagesbild-api"
ROLE_MAP = (
    "lagesbild-granskare=reviewer,lagesbild-analytiker=analyst,lagesbild-admin=admin,"
    "lagesbild-aktor=actor"
)
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private_key, kid: str, alg: str) -> dict:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


class Provider:
    """A minimal OpenID provider: discovery and JWKS over HTTP, with request counts."""

    def __init__(self):
        self.documents: dict[str, object] = {}
        self.hits: dict[str, int] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider.hits[self.path] = provider.hits.get(self.path, 0) + 1
                body = provider.documents.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = f"{self.base}/realms/lagesby"
        self.jwks_path = "/realms/lagesby/protocol/openid-connect/certs"
        self.discovery_path = "/realms/lagesby/.well-known/openid-configuration"
        self.documents[self.discovery_path] = {
            "issuer": self.issuer,
            "jwks_uri": self.base + self.jwks_path,
        }
        self.keys = [_jwk(RSA_KEY, "rsa-1", "RS256"), _jwk(EC_KEY, "ec-1", "ES256")]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def keys(self) -> list[dict]:
        return self.documents[self.jwks_path]["keys"]  # type: ignore[index]

    @keys.setter
    def keys(self, keys: list[dict]) -> None:
        self.documents[self.jwks_path] = {"keys": keys}

    def settings(self, **overrides) -> Settings:
        values = {
            "oidc_issuer": self.issuer,
            "oidc_audience": AUDIENCE,
            "oidc_role_claim": "realm_access.roles",
            "oidc_role_map": ROLE_MAP,
            **overrides,
        }
        return Settings(**values)

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "9b1d-anna",
            "preferred_username": "anna.granskare",
            "iat": now,
            "exp": now + 300,
            "realm_access": {"roles": ["offline_access", "lagesbild-granskare"]},
            **overrides,
        }
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key=RSA_KEY, kid="rsa-1", alg="RS256", **claims) -> str:
        headers = {"kid": kid} if kid is not None else {}
        return jwt.encode(self.claims(**claims), key, algorithm=alg, headers=headers)


@pytest.fixture
def provider():
    p = Provider()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def validator(provider):
    return Validator(provider.settings())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict, claims: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _refused(validator, token, match):
    with pytest.raises(AuthenticationError, match=match) as refused:
        validator.identity(token)
    assert refused.value.http_status == 401
    return refused.value


# -- accepted --------------------------------------------------------------------------------


def test_a_valid_token_is_the_callers_identity(provider, validator):
    identity = validator.identity(provider.token())
    assert identity.principal == "oidc:9b1d-anna"
    assert identity.roles == frozenset({"reviewer"})
    assert (identity.actor_id, identity.via, identity.name) == (None, "bearer", "anna.granskare")


def test_an_ec_signed_token_is_accepted(provider, validator):
    token = provider.token(EC_KEY, "ec-1", "ES256", realm_access={"roles": ["lagesbild-admin"]})
    assert validator.identity(token).roles == {"admin"}


def test_an_actor_token_speaks_for_its_actor(provider):
    asked = []
    validator = Validator(
        provider.settings(), actor_exists=lambda a: asked.append(a) or a == "polisen"
    )
    token = provider.token(realm_access={"roles": ["lagesbild-aktor"]}, lagesbild_actor="polisen")
    for _ in range(3):
        identity = validator.identity(token)
        assert (identity.roles, identity.actor_id) == ({"actor"}, "polisen")
    assert asked == ["polisen"]  # the registry is asked once, not per request
    unknown = provider.token(realm_access={"roles": ["lagesbild-aktor"]}, lagesbild_actor="nosuch")
    _refused(validator, unknown, "actor 'nosuch' is not registered")
    missing = provider.token(realm_access={"roles": ["lagesbild-aktor"]})
    _refused(validator, missing, "names its actor in the claim 'lagesbild_actor'")
    garbage = provider.token(realm_access={"roles": ["lagesbild-aktor"]}, lagesbild_actor=["x"])
    _refused(validator, garbage, "names its actor")


def test_an_actor_and_a_municipality_role_in_one_token_are_refused(provider, validator):
    token = provider.token(
        realm_access={"roles": ["lagesbild-aktor", "lagesbild-admin"]}, lagesbild_actor="polisen"
    )
    _refused(validator, token, "both an actor role and a municipality role")


def test_entra_style_roles_claim_and_dotted_actor_claim(provider):
    """Entra ID puts app roles in ``roles`` and custom claims under names with dots."""
    settings = provider.settings(oidc_role_claim="roles", oidc_actor_claim="extn.lagesbild_actor")
    validator = Validator(settings)
    token = provider.token(
        realm_access=None, roles=["lagesbild-aktor"], **{"extn.lagesbild_actor": "polisen"}
    )
    assert validator.identity(token).actor_id == "polisen"
    single = provider.token(realm_access=None, roles="lagesbild-analytiker")
    assert validator.identity(single).roles == {"analyst"}


def test_leeway_tolerates_a_little_clock_skew_only(provider, validator):
    now = int(time.time())
    assert validator.identity(provider.token(exp=now - 10, iat=now - 310)).roles == {"reviewer"}
    assert validator.identity(provider.token(nbf=now + 10)).roles == {"reviewer"}
    _refused(validator, provider.token(exp=now - 60), "not valid: it has expired")
    _refused(validator, provider.token(nbf=now + 60), "not valid yet")


# -- refused ---------------------------------------------------------------------------------


def test_expired_and_not_yet_valid(provider, validator):
    now = int(time.time())
    _refused(validator, provider.token(exp=now - 3600, iat=now - 7200), "it has expired")
    _refused(validator, provider.token(nbf=now + 3600), "not valid yet")
    _refused(validator, provider.token(iat=now + 3600), "not valid yet")


def test_wrong_issuer_or_audience(provider, validator):
    _refused(validator, provider.token(iss="https://evil.example/realms/lagesby"), "another issuer")
    _refused(validator, provider.token(iss=provider.issuer + "/"), "another issuer")
    _refused(validator, provider.token(aud="account"), "another audience")
    _refused(validator, provider.token(aud=["account", "other-app"]), "another audience")
    _refused(validator, provider.token(aud=None), "lacks a required claim")
    _refused(validator, provider.token(exp=None), "lacks a required claim")
    _refused(validator, provider.token(sub=None), "lacks a required claim")


def test_a_forged_signature_is_refused(provider, validator):
    """Signed with another key but naming the provider's kid."""
    _refused(validator, provider.token(OTHER_RSA_KEY, "rsa-1"), "signature does not match")
    real = provider.token().split(".")
    tampered = provider.token(realm_access={"roles": ["lagesbild-admin"]}).split(".")
    _refused(validator, ".".join([real[0], tampered[1], real[2]]), "signature does not match")


def test_alg_none_is_refused_before_any_key_is_fetched(provider, validator):
    claims = provider.claims(realm_access={"roles": ["lagesbild-admin"]})
    for alg in ("none", "None", "NONE"):
        token = _hand_made({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims, lambda _: b"")
        _refused(validator, token, "signature algorithm is not accepted")
        _refused(validator, token[: token.rindex(".") + 1], "signature algorithm is not accepted")
    assert not provider.hits


def test_hs256_signed_with_the_public_key_is_refused(provider, validator):
    """Algorithm confusion: the provider's public key (public to anyone) as an HMAC secret."""
    claims = provider.claims(realm_access={"roles": ["lagesbild-admin"]})
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_json = json.dumps(provider.keys[0]).encode()
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        for secret in (pem, jwk_json):
            sign = lambda m, s=secret, d=digest: hmac.digest(s, m, d)  # noqa: E731
            token = _hand_made({"alg": alg, "kid": "rsa-1"}, claims, sign)
            _refused(validator, token, "signature algorithm is not accepted")
    assert not provider.hits


def test_an_algorithm_other_than_the_keys_is_refused(provider, validator):
    """An ES256 header naming the RSA key (and the reverse): PyJWK binds the key's algorithm."""
    _refused(validator, provider.token(EC_KEY, "rsa-1", "ES256"), "does not match its signing key")
    _refused(validator, provider.token(RSA_KEY, "ec-1", "RS256"), "does not match its signing key")


def test_an_unknown_kid_is_refused_and_refetches_at_most_once(provider, validator):
    validator.identity(provider.token())
    assert provider.hits[provider.jwks_path] == 1
    for kid in ("rsa-2", "made-up", "x" * 200):
        _refused(validator, provider.token(OTHER_RSA_KEY, kid), "key the identity provider does")
    assert provider.hits[provider.jwks_path] == 1  # within the cooldown: no refetch per token
    _refused(validator, provider.token(kid=None), "names no signing key")
    _refused(validator, provider.token(kid=""), "names no signing key")


def test_a_rotated_key_is_fetched_when_a_token_names_it(provider):
    validator = Validator(provider.settings(), refresh_cooldown_s=0)
    validator.identity(provider.token())
    provider.keys = [*provider.keys, _jwk(OTHER_RSA_KEY, "rsa-2", "RS256")]
    assert validator.identity(provider.token(OTHER_RSA_KEY, "rsa-2")).roles == {"reviewer"}
    assert provider.hits[provider.jwks_path] == 2
    provider.keys = provider.keys[1:]  # rsa-1 withdrawn by the provider
    validator.identity(provider.token(OTHER_RSA_KEY, "rsa-2"))  # served from the cache
    _refused(validator, provider.token(kid="rsa-9"), "does not publish")
    assert provider.hits[provider.jwks_path] == 3


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30", "ä.ö.å", "Bearer x.y.z"],
)
def test_malformed_tokens(validator, token):
    _refused(validator, token, "not a signed JWT|malformed|not accepted|names no signing key")


def test_a_garbled_payload_is_malformed(provider, validator):
    header, _, signature = provider.token().split(".")
    _refused(validator, f"{header}.!!!.{signature}", "not a signed JWT")
    signed_text = jwt.api_jws.encode(b"not json", RSA_KEY, "RS256", headers={"kid": "rsa-1"})
    _refused(validator, signed_text, "malformed")  # a valid signature over no claims


def test_a_token_without_a_lagesbild_role(provider, validator):
    for roles in ({"roles": ["offline_access"]}, {"roles": []}, {"roles": "x"}, None, "flat"):
        _refused(validator, provider.token(realm_access=roles), "carries no Lägesbild role")


# -- the provider ----------------------------------------------------------------------------


def test_the_provider_down_is_a_logged_401_not_a_500(provider, caplog):
    validator = Validator(provider.settings())
    token = provider.token()
    provider.server.shutdown()
    provider.server.server_close()
    with caplog.at_level(logging.WARNING, "lagesbild_geo.access.oidc"):
        _refused(validator, token, "cannot be checked right now")
    assert "signing keys cannot be had" in caplog.text
    started = time.monotonic()
    _refused(validator, token, "cannot be checked right now")  # not asked again at once
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("document", "logged"),
    [
        ({"issuer": "https://other.example", "jwks_uri": "x"}, "names the issuer"),
        ({"issuer": "ISSUER"}, "no jwks_uri"),
        (b"<html>not json</html>", "Expecting value"),
    ],
)
def test_a_discovery_document_that_does_not_fit(provider, caplog, document, logged):
    if isinstance(document, dict) and document.get("issuer") == "ISSUER":
        document = {"issuer": provider.issuer}
    provider.documents[provider.discovery_path] = document
    with caplog.at_level(logging.WARNING, "lagesbild_geo.access.oidc"):
        _refused(Validator(provider.settings()), provider.token(), "cannot be checked")
    assert logged in caplog.text


def test_a_jwks_that_is_not_a_key_set(provider, caplog):
    provider.documents[provider.jwks_path] = b"not json"
    with caplog.at_level(logging.WARNING, "lagesbild_geo.access.oidc"):
        _refused(Validator(provider.settings()), provider.token(), "cannot be checked")
    provider.documents[provider.jwks_path] = {"keys": []}
    _refused(Validator(provider.settings()), provider.token(), "cannot be checked")
    assert "signing keys cannot be had" in caplog.text


def test_a_configured_jwks_url_skips_discovery(provider):
    settings = provider.settings(oidc_jwks_url=provider.base + provider.jwks_path)
    assert Validator(settings).identity(provider.token()).roles == {"reviewer"}
    assert provider.discovery_path not in provider.hits


def test_without_a_provider_tokens_are_refused(provider):
    _refused(Validator(Settings()), provider.token(), "no identity provider is configured")


def test_settings_that_would_weaken_the_check_are_refused(provider):
    for algorithms in ("HS256", "RS256,none", "RS256, HS512", ""):
        with pytest.raises(ValidationError, match="OIDC_ALGORITHMS"):
            provider.settings(oidc_algorithms=algorithms)
    with pytest.raises(InputError, match="AUDIENCE is required"):
        Validator(provider.settings(oidc_audience=None))
    with pytest.raises(InputError, match="'lagesbild-x=superuser'"):
        Validator(provider.settings(oidc_role_map="lagesbild-x=superuser"))


def test_validation_is_cheap_with_the_keys_cached(provider, validator):
    """The middleware validates every request's token: measured here, printed with -s."""
    tokens = {
        "RS256": provider.token(),
        "ES256": provider.token(EC_KEY, "ec-1", "ES256"),
    }
    for alg, token in tokens.items():
        validator.identity(token)
        n = 500
        started = time.perf_counter()
        for _ in range(n):
            validator.identity(token)
        ms = (time.perf_counter() - started) / n * 1000
        print(f"\nOIDC validation {alg}: {ms:.3f} ms per token (keys cached)")
        assert ms < 5
    assert provider.hits[provider.jwks_path] == 1
