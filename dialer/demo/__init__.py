"""``dialer demo``: the whole loop on a fresh machine in about a minute (SQLite, the local Twilio
emulator, a sample portfolio, simulated agents in progressive mode, a live table)."""
