import type { Kopecks } from './money';

/** A Bitrix order as the workflows see it: money in kopecks, ids as strings, flags as booleans. */
export interface OrderSnapshot {
  /** Bitrix internal order id (sale.order.get id), e.g. "236". */
  id: string;
  /** The number the customer and the cashier see, e.g. "392". */
  accountNumber: string;
  currency: string;
  total: Kopecks;
  statusId: string;
  paid: boolean;
  canceled: boolean;
  deducted: boolean;
  items: OrderItem[];
  payments: OrderPayment[];
  shipments: OrderShipment[];
  /** Buyer contacts from propertyValues (EMAIL, PHONE, FIO). Personal data: never log or index it. */
  buyer: { email?: string; phone?: string; name?: string };
}

export interface OrderItem {
  /** basketItems[].id (a string in Bitrix). */
  basketId: string;
  productId: string;
  name: string;
  /** Price of one unit, after discounts, in kopecks. */
  price: Kopecks;
  quantity: number;
  /** VAT as a fraction as Bitrix sends it (0.22); null = no VAT. */
  vatRate: number | null;
  vatIncluded: boolean;
  /** OKEI measure code, "796" = piece. */
  measureCode?: string;
  /** Warehouses this item is reserved at (basketItems[].reservations[]). */
  reservations: { storeId: string; quantity: number }[];
}

export interface OrderPayment {
  id: string;
  paySystemId: string;
  sum: Kopecks;
  paid: boolean;
  psInvoiceId?: string;
  /** "N" | "Y" | "P" as Bitrix sends it. */
  isReturn?: string;
}

export interface OrderShipment {
  id: string;
  deliveryId: string;
  deducted: boolean;
  /** Bitrix's own system shipment (never deducted by hand). */
  system?: boolean;
}
