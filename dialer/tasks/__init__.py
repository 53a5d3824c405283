"""Tasks the system creates for people and the dialer (callbacks, follow-ups, reminders, visits):
written by the domain (a missed call, a disposition) and by the scheduled jobs."""
