"""Agents at seats: their state machine, sessions, work queue and the dial engine's hand-out."""
