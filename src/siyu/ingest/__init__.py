"""Ingestion: the collector protocols, the importers and the canonical event record."""
