"""Topic tags: the taxonomy (data) and the tagger that scores articles against it."""
