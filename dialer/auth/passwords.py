"""Password hashing with argon2id, off the event loop.

argon2 is deliberately slow (tens to hundreds of milliseconds); run on the event loop it stalls
every other request. :class:`Passwords` runs it in a small thread pool of its own (argon2-cffi
releases the GIL), so a burst of logins queues there and never on the loop. An unknown user is
checked against a dummy hash, so a refusal costs the same whether the username exists or not.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

T = TypeVar("T")

MIN_PASSWORD_LENGTH = 10
HASH_THREADS = 4
"""argon2 computations run at once; more queue, so logins cannot take every core."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class Passwords:
    """Hash and verify in a bounded thread pool (made at first use). ``hasher``: the argon2
    parameters (a test passes a counting subclass)."""

    def __init__(self, hasher: PasswordHasher | None = None, *, threads: int = HASH_THREADS) -> None:
        self.hasher = hasher or _hasher
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._dummy: str | None = None
        self._lock = threading.Lock()

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash (unknown user, integration user) the same
        work is done against a dummy hash and the answer is False."""
        return await self._run(self._verify, password_hash, password)

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash or self._dummy_hash(), password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(24))
            return self._dummy

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="argon2")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


PASSWORDS = Passwords()
"""The service's one instance (its pool is made at first use, not at import)."""
