"""A reference receiver for the dialer's recording archive webhooks (Standard Webhooks): verify,
de-duplicate, fetch and check each recording, store it, then answer 2xx. Standalone on purpose:
it imports nothing of the dialer, so an integrator can copy this package alone (see README.md)."""

from archive_receiver.app import create_app

__all__ = ["create_app"]
