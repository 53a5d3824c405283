"""Collections Dialer: compliance-first calling service for a debt-collection call centre."""
