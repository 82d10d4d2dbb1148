"""The local stack: Kafka (KRaft) and OpenSearch from Maven Central, run as local JVM processes."""
