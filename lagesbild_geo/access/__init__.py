"""Who is asking, and what they may see: the audiences of issue 13 (docs/access.md).

* :mod:`.identity` -- the caller (:class:`~.identity.Identity`), carried through a request in a
  context variable, and the roles;
* :mod:`.session` -- a database transaction as the caller: ``SET LOCAL ROLE`` and the caller's
  identity in ``set_config(..., true)``, read by the row-level security policies;
* :mod:`.keys` -- API keys (random, stored as hashes, with owner, role, expiry, revocation);
* :mod:`.oidc` -- OpenID Connect bearer tokens validated against the issuer's JWKS;
* :mod:`.authenticate` -- a request's headers to an identity, or a 401.
"""
