import { randomUUID } from 'node:crypto';
import { kopecksToRubleNumber, rublesToKopecks, type Kopecks } from '../../domain/money';
import { SimulatorError } from './errors';
import { evotorDate, taxTag, type LineProduct, type RungLine, type SaleLine } from './terminal';

/**
 * A store's product catalog in the Evotor cloud (REST v2 `GET /stores/{id}/products[/{productId}]`).
 * A product as the cloud shows it, from developer.evotor.ru's v2 product reference and the cloud SDK's
 * model (snake_case): id (uuid), name, code, article_number, barcodes, price, cost_price, quantity,
 * measure_name, tax, allow_to_sell, description, type, parent_id, store_id, user_id, created_at, updated_at.
 * A catalog sync on the shop's side writes the Bitrix product id into `code` (or `article_number`).
 */

/** What the admin API and `addProducts` take: camelCase or the cloud's own snake_case names. */
export interface ProductInput {
  /** Default: a fresh uuid. A known id replaces that product (as PUT /products/{id} does). */
  id?: string;
  name: string;
  code?: string | number | null;
  articleNumber?: string | number | null;
  barcodes?: (string | number)[];
  /** Rubles ("1234.50" or 1234.5); default 0. */
  price?: string | number;
  costPrice?: string | number;
  quantity?: number;
  measureName?: string;
  /** Bitrix-style VAT fraction (0.22; null = no VAT); `tax` wins when both are given. */
  vatRate?: number | null;
  /** Evotor's tax tag: NO_VAT, VAT_0, VAT_10, VAT_20, ... */
  tax?: string;
  /** NORMAL (default), SERVICE, ALCOHOL_MARKED, ALCOHOL_NOT_MARKED, ... */
  type?: string;
  parentId?: string | null;
  allowToSell?: boolean;
  description?: string;
}

export interface CatalogProduct {
  id: string;
  name: string;
  code: string | null;
  articleNumber: string | null;
  barcodes: string[];
  price: Kopecks;
  costPrice: Kopecks;
  quantity: number;
  measureName: string;
  tax: string;
  type: string;
  parentId: string | null;
  allowToSell: boolean;
  description: string;
  createdMs: number;
  updatedMs: number;
}

interface ProductsCursor {
  kind: 'products';
  store: string;
  after: string;
}

export class StoreCatalog {
  private readonly products = new Map<string, CatalogProduct>();

  constructor(
    readonly storeId: string,
    private readonly userId: string,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.products.size;
  }

  /**
   * Adds or replaces products. Every input is checked before anything changes: one bad product
   * (SimulatorError 400 naming its index) and none is stored.
   */
  upsert(inputs: unknown): CatalogProduct[] {
    if (!Array.isArray(inputs)) throw new SimulatorError(400, 'products: a list of products');
    const now = this.now();
    const parsed = inputs.map((input, i) => parseProduct(input, i, now));
    const ids = new Set<string>();
    for (const p of parsed) {
      if (ids.has(p.id)) throw new SimulatorError(400, `products: id ${p.id} twice in one request`);
      ids.add(p.id);
    }
    for (const p of parsed) {
      const old = this.products.get(p.id);
      if (old) p.createdMs = old.createdMs;
      this.products.set(p.id, p);
    }
    return parsed;
  }

  get(id: string): CatalogProduct | undefined {
    return this.products.get(id);
  }

  /** The product a cashier gets for a code (the first one added, should two share it). */
  byCode(code: string): CatalogProduct | undefined {
    for (const p of this.products.values()) if (p.code === code) return p;
    return undefined;
  }

  /** Products ordered by id; the cursor remembers the last id of the page, so additions do not shift pages. */
  page(cursor: string | undefined, pageSize: number): { items: Record<string, unknown>[]; paging: { next_cursor?: string } } {
    let after: string | undefined;
    if (cursor !== undefined) {
      const c = decodeProductsCursor(cursor);
      if (c.store !== this.storeId) throw new SimulatorError(400, 'cursor belongs to another store');
      after = c.after;
    }
    const sorted = [...this.products.values()].filter((p) => after === undefined || p.id > after).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const items = sorted.slice(0, pageSize);
    const last = items[items.length - 1];
    return {
      items: items.map((p) => this.json(p)),
      paging: sorted.length > items.length && last ? { next_cursor: encodeProductsCursor({ kind: 'products', store: this.storeId, after: last.id }) } : {},
    };
  }

  all(): Record<string, unknown>[] {
    return [...this.products.values()].map((p) => this.json(p));
  }

  /**
   * The catalog products the lines are rung as: the one whose `code` is the line's productId, or a new one
   * (fresh uuid, code = productId, article_number = ART-<productId>, name and price of the line) when the
   * catalog has none — a cashier can sell catalog products only. Nothing is stored here: `created` goes
   * into the catalog with `add` once the receipt was actually rung. Lines that already carry their product
   * (a refund of rung lines) keep it; lines without productId are free-price items.
   */
  resolve(lines: readonly (SaleLine | RungLine)[]): { lines: RungLine[]; created: CatalogProduct[] } {
    const created = new Map<string, CatalogProduct>();
    const now = this.now();
    const out = lines.map((line, i): RungLine => {
      if ('product' in line && typeof line.product?.id === 'string') return line;
      if (line.productId === undefined || line.productId === null || line.productId === '') return { ...line };
      const code = String(line.productId);
      let product = this.byCode(code) ?? created.get(code);
      if (!product) {
        product = {
          id: randomUUID(),
          name: line.name,
          code,
          articleNumber: `ART-${code}`,
          barcodes: [],
          price: rublesToKopecks(line.price, `line ${i + 1} price`),
          costPrice: 0,
          quantity: 0,
          measureName: line.measureName ?? 'шт',
          tax: taxTag(line.vatRate),
          type: 'NORMAL',
          parentId: null,
          allowToSell: true,
          description: '',
          createdMs: now,
          updatedMs: now,
        };
        created.set(code, product);
      }
      return { ...line, product: lineProduct(product) };
    });
    return { lines: out, created: [...created.values()] };
  }

  add(products: readonly CatalogProduct[]): void {
    for (const p of products) this.products.set(p.id, p);
  }

  /** The product as GET /stores/{id}/products[/{productId}] answers it. */
  json(p: CatalogProduct): Record<string, unknown> {
    return {
      id: p.id,
      name: p.name,
      code: p.code,
      article_number: p.articleNumber,
      barcodes: [...p.barcodes],
      price: kopecksToRubleNumber(p.price),
      cost_price: kopecksToRubleNumber(p.costPrice),
      quantity: p.quantity,
      measure_name: p.measureName,
      tax: p.tax,
      allow_to_sell: p.allowToSell,
      description: p.description,
      type: p.type,
      parent_id: p.parentId,
      store_id: this.storeId,
      user_id: this.userId,
      created_at: evotorDate(p.createdMs),
      updated_at: evotorDate(p.updatedMs),
    };
  }
}

function lineProduct(p: CatalogProduct): LineProduct {
  return { id: p.id, code: p.code, type: p.type, measureName: p.measureName };
}

function parseProduct(input: unknown, index: number, now: number): CatalogProduct {
  const where = `products[${index}]`;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new SimulatorError(400, `${where}: an object`);
  const o = input as Record<string, unknown>;
  const pick = (camel: string, snake?: string): unknown => (o[camel] !== undefined ? o[camel] : snake ? o[snake] : undefined);
  const str = (v: unknown, field: string, fallback: string): string => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') throw new SimulatorError(400, `${where}.${field}: a string`);
    return v;
  };
  const optionalKey = (v: unknown, field: string): string | null => {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v !== 'string') throw new SimulatorError(400, `${where}.${field}: a string`);
    return v;
  };
  const rubles = (v: unknown, field: string): Kopecks => {
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'string' && typeof v !== 'number') throw new SimulatorError(400, `${where}.${field}: rubles`);
    try {
      const k = rublesToKopecks(v, `${where}.${field}`);
      if (k < 0) throw new RangeError(`${where}.${field}: must not be negative`);
      return k;
    } catch (e) {
      throw new SimulatorError(400, (e as Error).message);
    }
  };

  const id = pick('id');
  if (id !== undefined && (typeof id !== 'string' || id.trim() === '')) throw new SimulatorError(400, `${where}.id: a non-empty string`);
  const name = pick('name');
  if (typeof name !== 'string' || name.trim() === '') throw new SimulatorError(400, `${where}.name: a non-empty string`);

  const barcodesIn = pick('barcodes', 'bar_codes') ?? [];
  if (!Array.isArray(barcodesIn) || !barcodesIn.every((b) => typeof b === 'string' || typeof b === 'number')) {
    throw new SimulatorError(400, `${where}.barcodes: a list of strings`);
  }
  const quantity = pick('quantity') ?? 0;
  if (typeof quantity !== 'number' || !Number.isFinite(quantity)) throw new SimulatorError(400, `${where}.quantity: a number`);
  const allowToSell = pick('allowToSell', 'allow_to_sell') ?? true;
  if (typeof allowToSell !== 'boolean') throw new SimulatorError(400, `${where}.allowToSell: true or false`);

  let tax = pick('tax');
  if (tax === undefined || tax === null) {
    const vatRate = pick('vatRate', 'vat_rate');
    if (vatRate !== undefined && vatRate !== null && typeof vatRate !== 'number') throw new SimulatorError(400, `${where}.vatRate: a fraction or null`);
    try {
      tax = taxTag(vatRate as number | null | undefined);
    } catch (e) {
      throw new SimulatorError(400, `${where}.${(e as Error).message}`);
    }
  }

  return {
    id: typeof id === 'string' ? id : randomUUID(),
    name,
    code: optionalKey(pick('code'), 'code'),
    articleNumber: optionalKey(pick('articleNumber', 'article_number'), 'articleNumber'),
    barcodes: (barcodesIn as (string | number)[]).map(String),
    price: rubles(pick('price'), 'price'),
    costPrice: rubles(pick('costPrice', 'cost_price'), 'costPrice'),
    quantity,
    measureName: str(pick('measureName', 'measure_name'), 'measureName', 'шт'),
    tax: str(tax, 'tax', 'NO_VAT'),
    type: str(pick('type'), 'type', 'NORMAL'),
    parentId: optionalKey(pick('parentId', 'parent_id'), 'parentId'),
    allowToSell,
    description: str(pick('description'), 'description', ''),
    createdMs: now,
    updatedMs: now,
  };
}

function encodeProductsCursor(c: ProductsCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeProductsCursor(s: string): ProductsCursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as ProductsCursor;
    if (c.kind !== 'products' || typeof c.store !== 'string' || typeof c.after !== 'string') throw new Error('shape');
    return c;
  } catch {
    throw new SimulatorError(400, 'cursor: not a cursor this API issued');
  }
}
