"""The read side: the analysts' query language, search and dashboard statistics."""
