"""HTTP edge: the collector protocols and the admin API, over the shared services."""
