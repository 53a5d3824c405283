"""The calendars' tables."""
