"""Comparing an answer with a document's example: the same keys at every level, the same JSON
types (numbers are one type, as in JSON). `nullable` names the paths where our answer may be
null although the example shows a value, each for a reason its test gives. `additions` names,
per path, the keys our answer adds to the example (documented as our own additions in
docs/contracts/); they must be there."""


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(
    ours, example, path: str = "", nullable: frozenset = frozenset(), additions: dict | None = None
) -> list[str]:
    additions = additions or {}
    if ours is None and (path in nullable or example is None):
        return []
    if _kind(ours) != _kind(example):
        return [f"{path or '.'}: {_kind(ours)} where the example has {_kind(example)}"]
    if isinstance(example, dict):
        problems = []
        expected = set(example) | set(additions.get(path or ".", ()))
        if set(ours) != expected:
            problems.append(f"{path or '.'}: keys {sorted(set(ours) ^ expected)} differ")
        for key in set(ours) & set(example):
            problems += shape_differences(ours[key], example[key], f"{path}.{key}", nullable, additions)
        return problems
    if isinstance(example, list) and example and ours:
        return [p for item in ours for p in shape_differences(item, example[0], f"{path}[]", nullable, additions)]
    return []


def assert_same_shape(ours, example, nullable=(), additions: dict | None = None) -> None:
    problems = shape_differences(ours, example, nullable=frozenset(nullable), additions=additions)
    assert not problems, problems
