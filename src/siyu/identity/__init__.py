"""Identity graph (ID-Mapping): typed identities, merge rules, persons, profiles, privacy.

Data flow: events and orders -> `links` (identity facts in replay order) -> `replay`
(union with per-type limits) -> the ``identities`` map (type, value -> person_id).
"""
