"""``python -m dialer.telephony.media``: see ``process``."""

from .process import main

raise SystemExit(main())
