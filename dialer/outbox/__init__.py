"""Webhooks out: events written with the facts they report, fanned out to the integration
endpoints that want them, and delivered signed (Standard Webhooks), retried and replayable."""
