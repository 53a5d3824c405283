"""Password checks run off the event loop, and an unknown user costs the same argon2 work."""

from __future__ import annotations

import threading
from typing import Literal

import pytest
from argon2 import PasswordHasher

from dialer.auth import service
from dialer.auth.models import Role
from dialer.auth.passwords import Passwords
from dialer.auth.service import LoginRefused
from tests.factories import make_user


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that records the thread of every verification."""

    def __init__(self) -> None:
        super().__init__()
        self.verified_on: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        self.verified_on.append(threading.get_ident())
        return super().verify(hash, password)


async def _login(app, passwords: Passwords, username: str, password: str):
    container = app.state.container
    return await service.login(container.write_sessions, username=username, password=password, source="10.0.0.1",
                               tokens=container.tokens, now=container.clock(), rules=container.login_rules,
                               passwords=passwords)


@pytest.fixture
async def people(app):
    async with app.state.container.sessions() as s:
        made = {
            "known": await make_user(s, username="known-1"),
            "disabled": await make_user(s, username="disabled-1", active=False),
            "integration": await make_user(s, username="robot-1", role=Role.INTEGRATION),
        }
        made["integration"].password_hash = None
        await s.commit()
    return made


async def test_given_a_known_user_and_an_unknown_one_when_refused_then_each_ran_argon2_once_off_the_loop(app, people):
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    loop_thread = threading.get_ident()
    for username in ("known-1", "nobody-here"):
        with pytest.raises(LoginRefused):
            await _login(app, passwords, username, "wrong password!")
    assert len(hasher.verified_on) == 2
    assert loop_thread not in hasher.verified_on


async def test_given_a_disabled_or_integration_user_when_logging_in_then_same_work_and_refused(app, people):
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    for username in ("disabled-1", "robot-1"):
        with pytest.raises(LoginRefused):
            await _login(app, passwords, username, "correct horse battery")
    assert len(hasher.verified_on) == 2


async def test_given_the_right_password_when_logging_in_off_the_loop_then_a_token(app, people):
    hasher = CountingHasher()
    user, token, _ = await _login(app, Passwords(hasher), "known-1", "correct horse battery")
    assert user.username == "known-1" and token
    assert len(hasher.verified_on) == 1 and threading.get_ident() not in hasher.verified_on
