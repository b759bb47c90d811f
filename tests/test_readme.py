from pathlib import Path

from orders.transitions import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_transition_table_is_the_code_table():
    assert markdown_table() in README.read_text()


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    blocks = text.split("```")[1::2]
    assert [block.strip() for block in blocks[:2]] == ["./scripts/serve", "./scripts/test"]
