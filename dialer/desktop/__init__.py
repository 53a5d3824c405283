"""The agent desktop: the web page agents work in (``/desktop``) and its live event stream
(``GET /v1/agent/events``). The page talks to the same /v1 API as any other client."""
