"""The HTTP API and analyst web app (`rasad serve`)."""
