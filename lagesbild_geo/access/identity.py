"""The caller of a request: who, in which roles, for which actor.

pygeoapi's providers and processes never see the request, so the middleware puts the caller in
:data:`CURRENT` (a context variable: each request, and each thread a job runs in, has its own);
:func:`current` reads it. A process job that runs in a thread of its own is given the identity
explicitly (``contextvars.copy_context``), never left to default to the public.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["actor", "reviewer", "analyst", "admin"]

#: The roles a credential can carry, and the PostgreSQL group role each request of that role
#: runs as (``SET LOCAL ROLE``; migration 0020 defines them and their row-level security).
DB_ROLES: dict[str, str] = {
    "actor": "lagesbild_actor",
    "reviewer": "lagesbild_reviewer",
    "analyst": "lagesbild_analyst",
    "admin": "lagesbild_admin",
}
ROLES: tuple[str, ...] = tuple(DB_ROLES)
#: The municipality's own roles: the huvudman, who alone sees the joined picture.
MUNICIPALITY_ROLES = frozenset({"reviewer", "analyst", "admin"})


@dataclass(frozen=True)
class Identity:
    """An authenticated caller, or the public (``roles`` empty).

    ``principal`` names the caller in the access log and as the owner of jobs: ``key:<id>``
    for an API key, ``oidc:<issuer-sub>`` for a token, ``anonymous`` for the public.
    ``actor_id`` is the delivering organisation an actor's credential speaks for (``None`` for
    the municipality's roles). ``client`` is the remote address (quotas of anonymous callers).
    """

    principal: str = "anonymous"
    roles: frozenset[str] = field(default_factory=frozenset)
    actor_id: str | None = None
    via: Literal["none", "api-key", "bearer"] = "none"
    name: str = ""
    client: str = ""

    @property
    def is_public(self) -> bool:
        return not self.roles

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_municipality(self) -> bool:
        return bool(self.roles & MUNICIPALITY_ROLES)

    @property
    def owner(self) -> str:
        """Who owns what this caller creates (jobs): the principal, or for the public the
        client's address (anonymous callers do not see each other's jobs)."""
        return self.principal if self.roles else f"anonymous@{self.client or '-'}"


PUBLIC = Identity()

#: The caller of the request being answered (the middleware sets and resets it).
CURRENT: ContextVar[Identity] = ContextVar("lagesbild_identity", default=PUBLIC)


def current() -> Identity:
    """The caller of the request being answered; the public outside a request."""
    return CURRENT.get()
