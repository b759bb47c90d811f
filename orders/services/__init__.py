"""Every write to an order, one job a module: placing, transitions, deadlines, events."""
