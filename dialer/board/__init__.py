"""The supervisor board (``/board``): the live floor of a supervisor's teams (or, for an admin,
every team), following the live events' bus, with monitor / whisper / barge on live calls."""
