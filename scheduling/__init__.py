"""Scheduled work: follow-up cadence, minimum contact frequency, promise reminders, daily statistics."""
