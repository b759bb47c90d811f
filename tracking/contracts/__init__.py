"""Client contracts: the other API documents the service replaces, each served as written.

Each module is a thin adapter over the same selectors and services as the native API (one
state machine, one set of visibility rules): it renames fields, re-shapes envelopes, pages
and errors, and maps the canonical statuses to its own words through one `StatusVocabulary`.
They sit above orders, delivery, payments and tracking; nothing below imports them.
"""
