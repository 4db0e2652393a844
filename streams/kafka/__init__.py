"""Kafka plumbing: client configs from settings, topic layout, and producing events.

Submodules are imported directly (``streams.kafka.produce``...) so that importing this package
does not load confluent-kafka for code that only needs the topic names.
"""
