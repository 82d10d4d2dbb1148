"""The search-engine adapter: one client for OpenSearch and Elasticsearch, transports, errors."""
