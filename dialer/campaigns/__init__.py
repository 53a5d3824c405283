"""Campaigns: which client's cases the progressive engine dials, for which team, and whether it
runs (start, pause, stop)."""
