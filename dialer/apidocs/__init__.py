"""The API docs, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with every asset they load served by
the service itself: agencies run closed intranets, where a CDN cannot be reached."""
