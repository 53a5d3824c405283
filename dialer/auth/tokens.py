"""Signed bearer tokens (JWT, HS256) that carry the user's id and role, and integration API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import jwt

from dialer.auth.models import Role
from dialer.kit.errors import Unauthenticated

API_KEY_PREFIX = "dk_"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    role: Role
    expires_at: dt.datetime
    version: int = 0
    """The user's ``token_version`` when issued; a token of an older version is dead."""


class TokenSigner:
    """Issues and verifies bearer tokens with one secret key."""

    algorithm = "HS256"
    issuer = "collections-dialer"

    def __init__(self, secret: str, ttl: dt.timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 characters")
        self._secret = secret
        self._ttl = ttl

    def issue(self, *, user_id: int, role: Role, now: dt.datetime, version: int = 0) -> tuple[str, dt.datetime]:
        expires = now + self._ttl
        token = jwt.encode(
            {"sub": str(user_id), "role": role.value, "iat": now, "exp": expires, "iss": self.issuer, "ver": version},
            self._secret,
            algorithm=self.algorithm,
        )
        return token, expires

    def verify(self, token: str, *, now: dt.datetime) -> TokenClaims:
        """The token's claims if it is ours and not expired at ``now`` (the service's clock, so a
        service run on a simulated clock, like the demo, agrees with itself)."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[self.algorithm], issuer=self.issuer,
                options={"require": ["sub", "role", "exp", "iss"], "verify_exp": False, "verify_iat": False},
            )
            expires_at = dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc)
            if expires_at <= now:
                raise Unauthenticated("the bearer token has expired; log in again")
            version = claims.get("ver", 0)
            if isinstance(version, bool) or not isinstance(version, int):
                raise ValueError("ver")
            return TokenClaims(user_id=int(claims["sub"]), role=Role(claims["role"]), expires_at=expires_at,
                               version=version)
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
            raise Unauthenticated("the bearer token is invalid") from None


def new_api_key() -> tuple[str, str, str]:
    """Return ``(key, prefix, sha256)``. The key is shown once; only prefix and hash are stored."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_api_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, _ = key.removeprefix(API_KEY_PREFIX).partition("_")
    return prefix if sep and len(prefix) == 12 else None


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
