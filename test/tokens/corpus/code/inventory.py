from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Item:
    sku: str
    name: str
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    def is_low(self, threshold: int = 5) -> bool:
        return self.quantity < threshold


class Inventory:
    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def add(self, item: Item) -> None:
        if item.sku in self._items:
            self._items[item.sku].quantity += item.quantity
        else:
            self._items[item.sku] = item

    def remove(self, sku: str, amount: int) -> int:
        item = self._items.get(sku)
        if item is None:
            raise KeyError(f"unknown SKU {sku!r}")
        taken = min(amount, item.quantity)
        item.quantity -= taken
        return taken

    def low_stock(self, threshold: int = 5) -> list[Item]:
        return sorted(
            (i for i in self._items.values() if i.is_low(threshold)),
            key=lambda i: (i.quantity, i.sku),
        )

    @classmethod
    def from_csv(cls, path: Path) -> "Inventory":
        inv = cls()
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                tags = [t.strip() for t in row.get("tags", "").split(";") if t.strip()]
                inv.add(Item(row["sku"], row["name"], int(row["quantity"]), tags))
        return inv
