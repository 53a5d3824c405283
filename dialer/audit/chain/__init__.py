"""Tamper evidence for the append-only audit log and compliance ledger: a hash chain per table,
sealed after the fact (:mod:`.seal`) and verified (:mod:`.verify`); the canonical form and the
hashes are defined in :mod:`.canonical`."""

from dialer.audit.chain.seal import seal
from dialer.audit.chain.verify import Break, Head, Report, verify

__all__ = ["Break", "Head", "Report", "seal", "verify"]
