"""indexers."""
