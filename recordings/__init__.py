"""Recordings: capture, content-addressed storage, checksums, archive hand-off, completeness audit."""
