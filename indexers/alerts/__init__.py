"""Alerts: the stored alerts (percolator queries), matching, notification and delivery."""
