"""Which scans of a PostgreSQL plan (EXPLAIN's JSON) a Limit stops: shared by the query-plan test
(tests/integration/test_query_plans.py) and the scale bench (bench/scale.py)."""

# Nodes that read all of their input before they give a row: a scan below them is not stopped by
# a Limit above them.
BLOCKING = {"Sort", "Incremental Sort", "Aggregate", "Hash", "Materialize", "Gather Merge", "WindowAgg", "Unique"}


def under_limit(node: dict, *, limited: bool) -> bool:
    """Whether a Limit stops what `node` reads, given whether one stops what its parent reads: a
    `LIMIT n` above it with nothing between that must read everything first. A sequential scan
    under one reads until it has n rows, as the bounded count of a long list does
    (core.pagination.LongListPaginator)."""
    kind = node["Node Type"]
    return (limited or kind == "Limit") and kind not in BLOCKING
