"""Batch pipelines over the warehouse tables, written as Ibis expressions."""
