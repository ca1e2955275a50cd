"""Who is calling: bearer-key authentication."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from gateway.errors import AuthenticationFailed


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    key_id: str
    team: str | None = None
    is_master: bool = False


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


def authenticate(request: Request, master_key: str | None) -> Caller:
    """The caller of `request`; with no master key configured (loopback only), everyone is anonymous."""
    token = bearer_token(request)
    if master_key is None:
        return ANONYMOUS
    if token is None:
        raise AuthenticationFailed("Missing API key: send 'Authorization: Bearer <your gateway key>'.")
    if hmac.compare_digest(token.encode(), master_key.encode()):
        return MASTER
    raise AuthenticationFailed("Invalid API key. Check the key you configured as the SDK's api_key.")
