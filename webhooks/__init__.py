"""Carrier webhooks in (verified, stored raw, processed once) and integration webhooks out (outbox)."""
