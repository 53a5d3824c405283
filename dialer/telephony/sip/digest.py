"""HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760).

The B2BUA answers a trunk's 401 / 407 with `authorization`; test trunks and a fake registrar verify
answers with `check`. Only the arithmetic and the header syntax live here: which nonces are fresh,
whether ``uri`` names the Request-URI and how many times a request is retried are the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# Algorithm name (upper-case) -> hash function; the "-sess" variants share their base's function.
_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
if "sha512_256" in hashlib.algorithms_available:  # RFC 7616's SHA-512-256, where OpenSSL has it
    _HASHES["SHA-512-256"] = lambda data: hashlib.new("sha512_256", data).hexdigest()

_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*(?:,|$)', re.DOTALL)


class DigestError(ValueError):
    """A challenge or credentials that are not Digest, are malformed, or use an unknown algorithm."""


@dataclass
class Challenge:
    """One ``WWW-Authenticate`` (``proxy=False``, a 401) or ``Proxy-Authenticate`` (a 407) Digest challenge."""

    realm: str
    nonce: str
    opaque: str | None = None
    algorithm: str = "MD5"
    qop: list[str] = field(default_factory=list)
    stale: bool = False
    proxy: bool = False

    @classmethod
    def parse(cls, header_value: str, *, proxy: bool = False) -> Challenge:
        """Parse ``Digest realm="...", nonce="...", qop="auth,auth-int", algorithm=SHA-256, ...``.
        Raises `DigestError` for another scheme (Basic), a missing realm or nonce, or an algorithm
        this module cannot compute."""
        params = parse_params(header_value)
        if "realm" not in params or "nonce" not in params:
            raise DigestError(f"Digest challenge without {'realm' if 'realm' not in params else 'nonce'}")
        algorithm = _algorithm(params.get("algorithm", "MD5"))
        qop = [item.strip().lower() for item in params.get("qop", "").split(",") if item.strip()]
        return cls(
            realm=params["realm"], nonce=params["nonce"], opaque=params.get("opaque"), algorithm=algorithm,
            qop=qop, stale=params.get("stale", "").lower() == "true", proxy=proxy,
        )


def pick(header_values: Iterable[str], *, proxy: bool = False) -> Challenge:
    """The first challenge this module can answer, in the server's order of preference (RFC 7616
    §3.7, RFC 8760 §2.4: a server may offer SHA-256 and MD5 side by side). Raises `DigestError`
    naming every reason when none can be answered."""
    reasons: list[str] = []
    for value in header_values:
        try:
            return Challenge.parse(value, proxy=proxy)
        except DigestError as error:
            reasons.append(str(error))
    raise DigestError("no usable Digest challenge: " + ("; ".join(reasons) or "none offered"))


def header_name(challenge: Challenge) -> str:
    """The request header carrying the answer: ``Authorization`` for a 401, ``Proxy-Authorization`` for a 407."""
    return "Proxy-Authorization" if challenge.proxy else "Authorization"


def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """H(username:realm:password), the credential a registrar may store instead of the password.
    For a ``-sess`` algorithm this is the stored part; the session key adds nonce and cnonce."""
    return _hash(_algorithm(algorithm), f"{username}:{realm}:{password}")


def authorization(
    challenge: Challenge, *, method: str, uri: str, username: str, password: str, body: bytes = b"",
    cnonce: str | None = None, nc: int = 1,
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` header value answering ``challenge`` for a
    request of ``method`` to ``uri`` (the Request-URI as sent). qop ``auth`` is used when offered,
    ``auth-int`` (covering ``body``) when only that is, and none when the challenge has no qop."""
    qop = "auth" if "auth" in challenge.qop else "auth-int" if "auth-int" in challenge.qop else None
    if challenge.qop and qop is None:
        raise DigestError(f"challenge offers only unknown qop values: {', '.join(challenge.qop)}")
    algorithm = _algorithm(challenge.algorithm)
    needs_cnonce = qop is not None or algorithm.endswith("-sess")
    cnonce = cnonce or (secrets.token_hex(16) if needs_cnonce else None)
    key = ha1(username, challenge.realm, password, algorithm)
    response = _response(
        algorithm=algorithm, ha1_hex=key, nonce=challenge.nonce, method=method, uri=uri, body=body,
        qop=qop, nc=f"{nc:08x}", cnonce=cnonce,
    )
    parts = [
        f"username={_quote(username)}", f"realm={_quote(challenge.realm)}", f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}", f"response={_quote(response)}", f"algorithm={algorithm}",
    ]
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc:08x}"]
    if cnonce is not None:
        parts.append(f"cnonce={_quote(cnonce)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)


def check(
    header_value: str, *, method: str, password: str | None = None, ha1_hex: str | None = None, body: bytes = b"",
) -> bool:
    """Whether an ``Authorization`` value carries the right response for ``method`` (and ``body``
    under auth-int), given the user's password or stored `ha1`. Malformed or unknown-algorithm
    credentials are simply wrong. The caller checks username, realm, nonce freshness and uri."""
    if (password is None) == (ha1_hex is None):
        raise ValueError("check needs exactly one of password and ha1_hex")
    try:
        params = parse_params(header_value)
        algorithm = _algorithm(params.get("algorithm", "MD5"))
        username, realm, nonce, uri = params["username"], params["realm"], params["nonce"], params["uri"]
        answer = params["response"]
    except (DigestError, KeyError):
        return False
    qop = params.get("qop")
    if qop not in (None, "auth", "auth-int") or (qop is not None and not ("nc" in params and "cnonce" in params)):
        return False
    key = ha1_hex if ha1_hex is not None else ha1(username, realm, password or "", algorithm)
    expected = _response(
        algorithm=algorithm, ha1_hex=key.lower(), nonce=nonce, method=method, uri=uri, body=body, qop=qop,
        nc=params.get("nc"), cnonce=params.get("cnonce"),
    )
    return hmac.compare_digest(expected, answer.lower())


def parse_params(header_value: str) -> dict[str, str]:
    """The comma-separated ``name=value`` parameters after ``Digest``, names lower-cased, quoted values
    unquoted. Raises `DigestError` for another scheme or a value that does not parse."""
    scheme, _, rest = header_value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"not a Digest header: scheme {scheme or '(none)'!r}")
    params: dict[str, str] = {}
    position, rest = 0, rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None or match.end() == position:
            raise DigestError(f"malformed Digest parameters near {rest[position:position + 30]!r}")
        name, value = match[1].lower(), match[2]
        params[name] = re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
        position = match.end()
    return params


def _response(
    *, algorithm: str, ha1_hex: str, nonce: str, method: str, uri: str, body: bytes, qop: str | None,
    nc: str | None, cnonce: str | None,
) -> str:
    base = algorithm.removesuffix("-sess")
    key = ha1_hex
    if algorithm.endswith("-sess"):
        key = _hash(base, f"{ha1_hex}:{nonce}:{cnonce or ''}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _HASHES[base](body)
    ha2 = _hash(base, a2)
    if qop is None:
        return _hash(base, f"{key}:{nonce}:{ha2}")
    return _hash(base, f"{key}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def _algorithm(name: str) -> str:
    """The registered spelling of an algorithm name (``md5-SESS`` -> ``MD5-sess``), rejecting ones we
    cannot compute."""
    upper = name.strip().upper()
    base, sess = upper.removesuffix("-SESS"), upper.endswith("-SESS")
    if base not in _HASHES:
        raise DigestError(f"unsupported Digest algorithm {name!r}")
    return base + ("-sess" if sess else "")


def _hash(algorithm: str, text: str) -> str:
    return _HASHES[algorithm.removesuffix("-sess")](text.encode("utf-8"))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
