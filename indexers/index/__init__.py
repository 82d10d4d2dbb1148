"""The index sink: article documents, index templates and Arabic analysis, the bulk writer."""
