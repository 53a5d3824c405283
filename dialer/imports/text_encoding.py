"""Which encoding a CSV file is in: UTF-8 / UTF-16 by their marks, GB18030 when plausible. Pure.

GB18030 maps almost every byte sequence to *some* character, so a Big5 or Shift-JIS file
"decodes" as GB18030 into garbage names (陳大文 in Big5 reads 朝ゅ). Decoding is therefore
not proof: the decoded text must also look like simplified Chinese — at least
``PLAUSIBLE_SHARE`` of its non-ASCII characters in GB2312 (the 6,763 common hanzi and its
punctuation; rare name characters such as 喆 or 堃 fall outside, hence a share and not a rule;
kana, Cyrillic and Greek, which a mis-decoded file is full of, never count). A file that is
neither is refused; the caller may then declare its encoding (``big5``, ``shift_jis``...).
"""

from __future__ import annotations

import codecs

from dialer.imports.cells import FieldError

PLAUSIBLE_SHARE = 0.5
_PUNCTUATION = frozenset("·—―…“”‘’")  # GB18030 reads them so; Python's GB2312 codec lacks some
_IMPLAUSIBLE = ((0x0370, 0x04FF), (0x2500, 0x257F), (0x3040, 0x30FF), (0xE000, 0xF8FF))


def check_encoding_name(name: str) -> str:
    """The codec's canonical name, or :class:`FieldError` for a name Python does not know."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FieldError(f"unknown encoding {name!r} (e.g. utf-8, gb18030, big5, shift_jis)") from None


def decode(content: bytes, encoding: str | None = None) -> str:
    """The file's text. With ``encoding`` declared, exactly that (strict); else see the module."""
    if encoding is not None:
        name = check_encoding_name(encoding)
        try:
            return content.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError as exc:
            raise FieldError(f"the file is not valid {name}: byte {exc.start} cannot be read") from None
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise FieldError("the file starts with a UTF-16 mark but is not valid UTF-16") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and gb_plausible(text):
        return text
    raise FieldError(
        "cannot read the text: it is neither UTF-8 nor GB18030"
        + (f" (it looks like {guess})" if (guess := _guess(content)) else "")
        + "; save it as UTF-8, or declare its encoding"
    )


def gb_plausible(text: str) -> bool:
    """Text decoded as GB18030 looks like simplified Chinese (see the module)."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return True
    common = 0
    for char in wide:
        code = ord(char)
        if char in _PUNCTUATION:
            common += 1
            continue
        if code > 0xFFFF or any(low <= code <= high for low, high in _IMPLAUSIBLE):
            continue
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common >= PLAUSIBLE_SHARE * len(wide)


def _guess(content: bytes) -> str | None:
    """charset-normalizer's best guess, only to word the refusal; never trusted to decode."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - an optional hint
        return None
    best = from_bytes(content[:64 * 1024]).best()
    return best.encoding if best is not None else None
