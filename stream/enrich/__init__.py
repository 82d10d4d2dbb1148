"""Enrichment: pure functions that add language, entities, topic tags and clusters to articles.

Entities: :func:`stream.enrich.entities.extract.extract_entities`; matching form of text:
:func:`stream.enrich.normalize.normalize` and :func:`stream.enrich.normalize.tokenize`.
"""
