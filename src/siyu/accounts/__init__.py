"""Console users (运营后台账号): roles, argon2 password hashes, sessions, lock-out.

Roles, from most to least able: ``admin`` (everything, user management, unmasked
personal data), ``operator`` (changes segments, tags, experiments, costs), ``analyst``
(reads only). The console and the admin API both ask `siyu.accounts.service` who is
signed in and whether their role allows an action.
"""
