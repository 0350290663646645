"""Tags and segments (分层分类): the rule language, built-in models and materialisation.

Data flow: ``ingest`` -> ``identity`` (events carry a person) -> ``segments`` (who is in
which layer, class, tag or segment) -> ``analytics`` / ``activation``.
"""
