"""The SIP trunk path: an in-project asyncio back-to-back user agent speaking RFC 3261 to the trunk.
``message`` (with ``uri`` and ``headers``) parses and builds requests and responses, ``digest``
answers and checks RFC 2617 / RFC 7616 digest challenges and ``sdp`` builds and negotiates
RFC 4566 / RFC 3264 G.711 offers and answers; ``transport``, ``timers``, ``transaction``
(``client_transaction``, ``server_transaction``), ``dialog`` and ``endpoint`` carry the messages,
run the §17 transactions and keep the dialogs. Importing the package loads none of them."""
