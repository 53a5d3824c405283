"""The work list: which case an agent works next (the queue's hand-out, parking, skips), the
preview desktop's case card, and the engine's claim. The holds themselves are the cases'
(``dialer.cases.holds``)."""
