"""Measurements (AARRR): funnels, retention, lifecycle flow, attribution, referral trees,
experiments, churn and lifetime value.

Every analysis is an Ibis expression over `siyu.segments.facts.Facts` (so DuckDB and
Spark give the same answer), finished in Python into chart-shaped results. `service.run`
is the one entry point the API, the console and the CLI call.
"""
