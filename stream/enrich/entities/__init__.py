"""Named entities: the CRF tagger, gazetteer, trigger words and mention extraction."""
