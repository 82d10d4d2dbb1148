"""Offline training scripts for the models under stream/data; never imported at run time."""
