"""Live events: one bus for every change a page shows as it happens (agent and call states,
refused dials, alerts). Each event is a row written in the transaction of the change it reports;
PostgreSQL's ``NOTIFY`` (or, on SQLite, the process itself) wakes every replica's listener, which
reads the new rows in order and fans them out to its subscribers. The row id is the event id, the
same on every replica, so a page reconnecting anywhere resumes with ``Last-Event-ID``."""
