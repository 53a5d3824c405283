import datetime as dt

import pytest

from dialer.auth.models import Role
from dialer.auth.tokens import TokenSigner
from dialer.kit.errors import Unauthenticated

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
SIGNER = TokenSigner("a-secret-key-of-sufficient-length-0123456789", dt.timedelta(hours=1))


def test_given_a_token_then_it_is_valid_until_its_expiry_on_the_services_own_clock():
    token, expires = SIGNER.issue(user_id=7, role=Role.AGENT, now=NOW)
    claims = SIGNER.verify(token, now=NOW + dt.timedelta(minutes=59))
    assert (claims.user_id, claims.role, claims.expires_at) == (7, Role.AGENT, expires)
    with pytest.raises(Unauthenticated, match="expired"):
        SIGNER.verify(token, now=expires)


def test_given_a_token_issued_on_a_clock_ahead_of_the_wall_then_it_is_still_accepted_by_that_clock():
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)  # the demo's simulated shift
    token, _ = SIGNER.issue(user_id=1, role=Role.SUPERVISOR, now=ahead)
    assert SIGNER.verify(token, now=ahead).user_id == 1


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c"])
def test_given_garbage_then_invalid(token):
    with pytest.raises(Unauthenticated, match="invalid"):
        SIGNER.verify(token, now=NOW)


def test_given_another_secret_then_invalid():
    token, _ = TokenSigner("another-secret-key-of-sufficient-length-0123", dt.timedelta(hours=1)).issue(
        user_id=1, role=Role.ADMIN, now=NOW)
    with pytest.raises(Unauthenticated, match="invalid"):
        SIGNER.verify(token, now=NOW)
