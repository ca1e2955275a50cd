"""Who is calling: the master key, a virtual key (looked up by hash in the key cache), or nobody."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.errors import AuthenticationFailed, PermissionDenied

if TYPE_CHECKING:
    from gateway.keycache import KeyCache


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    key_id: str
    team: str | None = None
    is_master: bool = False
    rpm: int | None = None
    tpm: int | None = None


ANONYMOUS = Caller(key_id="anonymous")
MASTER = Caller(key_id="master", is_master=True)


def bearer_token(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`, or None when absent."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Malformed Authorization header: send 'Authorization: Bearer <your gateway key>'.")
    return token.strip()


def _matches(token: str, secret: str | None) -> bool:
    return secret is not None and hmac.compare_digest(token.encode(), secret.encode())


def authenticate(request: Request, master_key: str | None, keys: KeyCache | None = None) -> Caller:
    """The caller of `request`. With no master key configured (loopback only) unknown callers are anonymous."""
    token = bearer_token(request)
    if token is not None:
        if _matches(token, master_key):
            return MASTER
        entry = keys.lookup(token) if keys is not None else None
        if entry is not None:
            return Caller(entry.key_id, entry.team, False, entry.rpm, entry.tpm)
    if master_key is None:
        return ANONYMOUS
    if token is None:
        raise AuthenticationFailed("Missing API key: send 'Authorization: Bearer <your gateway key>'.")
    raise AuthenticationFailed("Invalid API key. Check the key you configured as the SDK's api_key.")


def require_admin(request: Request, admin_key: str | None, master_key: str | None) -> None:
    """Admin endpoints need the admin key (or the master key)."""
    token = bearer_token(request)
    if admin_key is None and master_key is None:
        raise PermissionDenied("the admin API is disabled: set GATEWAY_ADMIN_KEY")
    if token is None:
        raise AuthenticationFailed("Missing admin key: send 'Authorization: Bearer <GATEWAY_ADMIN_KEY>'.")
    if not (_matches(token, admin_key) or _matches(token, master_key)):
        raise AuthenticationFailed("Invalid admin key.")
