"""Client policy documents: the schema, the presets shipped as data, and preset + overrides.

A client's effective policy is a preset (``presets/*.json``) deep-merged with that client's
overrides and validated as a :class:`dialer.policy.document.PolicyDocument`. The compliance
engine reads only the document; it never branches on a preset's name.
"""
