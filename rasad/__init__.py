"""rasad."""
