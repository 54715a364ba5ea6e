export interface LineItem {
  productId: string;
  unitPrice: number; // in cents
  quantity: number;
}

export type Discount =
  | { kind: 'percent'; value: number }
  | { kind: 'fixed'; cents: number }
  | { kind: 'none' };

export class Cart {
  private readonly items = new Map<string, LineItem>();

  add(item: LineItem): void {
    const existing = this.items.get(item.productId);
    if (existing) {
      existing.quantity += item.quantity;
    } else {
      this.items.set(item.productId, { ...item });
    }
  }

  subtotal(): number {
    let sum = 0;
    for (const { unitPrice, quantity } of this.items.values()) {
      sum += unitPrice * quantity;
    }
    return sum;
  }

  total(discount: Discount = { kind: 'none' }): number {
    const sub = this.subtotal();
    switch (discount.kind) {
      case 'percent':
        return Math.round(sub * (1 - discount.value / 100));
      case 'fixed':
        return Math.max(0, sub - discount.cents);
      default:
        return sub;
    }
  }
}
