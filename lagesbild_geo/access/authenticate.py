"""A request's credentials to the caller: the public, an API key's holder, or a token's.

=========================================  ===============================================
the request carries                        the caller
=========================================  ===============================================
neither header                             the public (:data:`~.identity.PUBLIC`)
``X-API-Key: lgb_<id>_<secret>``           the key's holder (:func:`.keys.verify`)
``Authorization: Bearer <JWT>``            the token's subject (:class:`.oidc.Validator`)
``Authorization: Basic <user:key>``        the key's holder (the password is the key)
anything else in those headers             401, on every path
=========================================  ===============================================

Credentials that were sent and are not valid -- unknown, expired, revoked, forged, for
another audience, an empty header, another scheme (``Basic``), both headers at once -- are
a 401 (:class:`~lagesbild_geo.errors.AuthenticationError`), never silently the public: a
client that believes it is logged in must learn that it is not.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg

from lagesbild_geo.access import keys
from lagesbild_geo.access.identity import PUBLIC, Identity
from lagesbild_geo.errors import AuthenticationError
from lagesbild_geo.settings import Settings

KEY_HEADER = "HTTP_X_API_KEY"
AUTHORIZATION_HEADER = "HTTP_AUTHORIZATION"


class Authenticator:
    """Identifies the caller of a WSGI request (one per worker process).

    ``connect`` gives a connection on which ``lagesbild.authenticate_key`` may be called
    (:func:`lagesbild_geo.server.restricted_db.plain`).
    """

    def __init__(
        self,
        settings: Settings,
        connect: Callable[[], AbstractContextManager[psycopg.Connection]],
    ):
        self.connect = connect
        self.validator = None
        if getattr(settings, "oidc_issuer", None):
            from lagesbild_geo.access.oidc import Validator

            self.validator = Validator(settings, actor_exists=self._actor_exists)

    def _actor_exists(self, actor_id: str) -> bool:
        """Whether an actor token's actor is registered (``lagesbild.actor_exists``)."""
        with self.connect() as conn:
            row = conn.execute("SELECT lagesbild.actor_exists(%s)", (actor_id,)).fetchone()
        return bool(row and row[0])

    def identify(self, environ) -> Identity:
        client = str(environ.get("REMOTE_ADDR") or "")
        key = environ.get(KEY_HEADER)
        authorization = environ.get(AUTHORIZATION_HEADER)
        if key is not None and authorization is not None:
            raise AuthenticationError(
                "Send one credential: X-API-Key or Authorization: Bearer, not both."
            )
        if key is not None:
            with self.connect() as conn:
                identity = keys.verify(conn, key)
        elif authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "basic":
                with self.connect() as conn:
                    identity = keys.verify(conn, _basic_password(token.strip()))
                return _with_client(identity, client)
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError(
                    "Authorization must be 'Bearer <token>' (an OpenID Connect access token) "
                    "or 'Basic' with an API key as the password; an API key may also go in "
                    "the X-API-Key header."
                )
            if self.validator is None:
                raise AuthenticationError(
                    "This server accepts no bearer tokens (no OpenID Connect issuer is "
                    "configured: LAGESBILD_OIDC_ISSUER); use an API key in X-API-Key."
                )
            identity = self.validator.identity(token.strip())
        else:
            return Identity(client=client) if client else PUBLIC
        return _with_client(identity, client)


def _with_client(identity: Identity, client: str) -> Identity:
    return Identity(
        principal=identity.principal,
        roles=identity.roles,
        actor_id=identity.actor_id,
        via=identity.via,
        name=identity.name,
        client=client,
    )


def _basic_password(credentials: str) -> str:
    """The password of HTTP Basic credentials (``base64(user:password)``); 401 when they are
    not that."""
    try:
        text = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationError(
            "Authorization: Basic needs base64 of 'name:key' (the API key as the password)."
        ) from exc
    _user, colon, password = text.partition(":")
    if not colon:
        raise AuthenticationError(
            "Authorization: Basic needs base64 of 'name:key' (the API key as the password)."
        )
    return password
