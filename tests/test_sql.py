"""Constants written into SQL text (``dialer.kit.sql``) are checked, not trusted."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from dialer.kit.sql import constant, integer


@pytest.mark.parametrize("value", ["open", "promise_due", "M3", ""])
def test_given_a_plain_word_then_it_is_written_quoted(value: str) -> None:
    compiled = select(constant(value)).compile(dialect=postgresql.dialect())
    assert str(compiled) == f"SELECT '{value}'"


@pytest.mark.parametrize("value", ["o'pen", "x; DROP TABLE calls", "a-b", "naïve ", None, 3])
def test_given_anything_else_then_it_is_refused(value) -> None:
    with pytest.raises(ValueError, match="not a safe SQL string constant"):
        constant(value)


@pytest.mark.parametrize("value", ["1", 1.5, True, None])
def test_given_a_non_integer_then_integer_refuses_it(value) -> None:
    with pytest.raises(ValueError, match="not an integer"):
        integer(value)


def test_given_an_integer_then_it_is_written_as_is() -> None:
    assert str(select(integer(200)).compile(dialect=postgresql.dialect())) == "SELECT 200"
