"""Holiday and working-day calendars the agency edits (per year, per client where a client follows
another calendar), over the shipped default data."""
