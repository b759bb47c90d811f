from typing import Any

from django.core.management.base import BaseCommand

from orders.lifecycle import markdown_table


class Command(BaseCommand):
    help = "Print the order transition table as Markdown (docs/order-model.md's copy must match it)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(markdown_table())
