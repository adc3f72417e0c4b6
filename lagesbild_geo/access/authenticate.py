"""A request's credentials to the caller: the public, an API key's holder, or a token's.

=========================================  ===============================================
the request carries                        the caller
=========================================  ===============================================
neither header                             the public (:data:`~.identity.PUBLIC`)
``X-API-Key: lgb_<id>_<secret>``           the key's holder (:func:`.keys.verify`)
``Authorization: Bearer <JWT>``            the token's subject (:class:`.oidc.Validator`)
anything else in those headers             401, on every path
=========================================  ===============================================

Credentials that were sent and are not valid -- unknown, expired, revoked, forged, for
another audience, an empty header, another scheme (``Basic``), both headers at once -- are
a 401 (:class:`~lagesbild_geo.errors.AuthenticationError`), never silently the public: a
client that believes it is logged in must learn that it is not.
"""

from __future__ import annotations

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

            self.validator = Validator(settings)

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
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError(
                    "Authorization must be 'Bearer <token>' (an OpenID Connect access token); "
                    "an API key goes in the X-API-Key header."
                )
            if self.validator is None:
                raise AuthenticationError(
                    "This server accepts no bearer tokens (no OpenID Connect issuer is "
                    "configured: LAGESBILD_OIDC_ISSUER); use an API key in X-API-Key."
                )
            identity = self.validator.identity(token.strip())
        else:
            return Identity(client=client) if client else PUBLIC
        return Identity(
            principal=identity.principal,
            roles=identity.roles,
            actor_id=identity.actor_id,
            via=identity.via,
            name=identity.name,
            client=client,
        )
