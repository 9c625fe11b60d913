import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { FiscalConfirmationSchema, MAX_RECEIPTS_PER_BATCH, MiddlewareReceiptSchema } from '../api/routes/middleware';
import { ID_PATTERNS, LIMITS } from '../domain/ids';

// The published contract (docs/middleware-openapi.yaml) and the door's own validation must not drift.
describe('middleware API: the OpenAPI description matches the door', () => {
  const spec = parse(readFileSync('docs/middleware-openapi.yaml', 'utf8'));
  const receipt = spec.components.schemas.Receipt;

  it('lists the same receipt fields, the same required ones and the same limits', () => {
    const shape = MiddlewareReceiptSchema.shape;
    expect(Object.keys(receipt.properties).sort()).toEqual(Object.keys(shape).sort());
    const required = Object.entries(shape)
      .filter(([, s]) => !s.safeParse(undefined).success)
      .map(([k]) => k)
      .sort();
    expect([...receipt.required].sort()).toEqual(required);
    expect(receipt.properties.type.enum).toEqual(shape.type.options);
    const batch = spec.paths['/middleware/v1/receipts/batch'].post.requestBody.content['application/json'].schema.properties.receipts;
    expect(batch.maxItems).toBe(MAX_RECEIPTS_PER_BATCH);
  });

  it('states the id patterns and limits of domain/ids.ts, and the door holds to them', () => {
    const line = spec.components.schemas.Line.properties;
    const p = receipt.properties;
    for (const field of ['receiptId', 'deviceId', 'baseReceiptId']) expect(p[field].pattern).toBe(ID_PATTERNS.terminalId);
    expect(p.orderId.pattern).toBe(ID_PATTERNS.bitrixId);
    expect(line.productId.pattern).toBe(ID_PATTERNS.bitrixId);
    expect(spec.components.schemas.FiscalConfirmation.properties.orderId.pattern).toBe(ID_PATTERNS.bitrixId);
    expect(p.accountNumber.maxLength).toBe(LIMITS.accountNumberLength);
    expect(p.total.maximum).toBe(LIMITS.maxAmountKopecks);
    expect(p.lines.maxItems).toBe(LIMITS.linesPerReceipt);
    expect(line.name.maxLength).toBe(LIMITS.lineNameLength);
    expect(line.quantity.maximum).toBe(LIMITS.maxQuantity);
    // The door refuses what the contract excludes: a value just past each limit.
    const base = { receiptId: 'r1', storeId: 's', deviceId: 'd1', type: 'SELL', dateTime: '2026-11-29T10:00:00Z', total: 100, lines: [{ productId: '1', name: 'n', quantity: 1 }] };
    const refused = (patch: Record<string, unknown>) => !MiddlewareReceiptSchema.safeParse({ ...base, ...patch }).success;
    expect(refused({})).toBe(false);
    expect(refused({ receiptId: 'r'.repeat(LIMITS.terminalIdLength + 1) })).toBe(true);
    expect(refused({ orderId: '029078082' })).toBe(true);
    expect(refused({ total: LIMITS.maxAmountKopecks + 1 })).toBe(true);
    expect(refused({ total: 0 })).toBe(true);
    expect(refused({ lines: [{ productId: '1', name: 'n', quantity: LIMITS.maxQuantity + 1 }] })).toBe(true);
    expect(refused({ lines: Array.from({ length: LIMITS.linesPerReceipt + 1 }, () => ({ productId: '1', name: 'n', quantity: 1 })) })).toBe(true);
  });

  it('describes the fiscal confirmation with the fields and required ones the door checks', () => {
    const doc = spec.components.schemas.FiscalConfirmation;
    const shape = FiscalConfirmationSchema.shape;
    expect(Object.keys(doc.properties).sort()).toEqual(Object.keys(shape).sort());
    const fiscal = shape.fiscal.shape;
    expect(Object.keys(doc.properties.fiscal.properties).sort()).toEqual(Object.keys(fiscal).sort());
    const required = Object.entries(fiscal)
      .filter(([, s]) => !s.safeParse(undefined).success)
      .map(([k]) => k)
      .sort();
    expect([...doc.properties.fiscal.required].sort()).toEqual(required);
    expect(Object.keys(spec.paths).sort()).toEqual(['/middleware/v1/fiscal-confirmations', '/middleware/v1/orders', '/middleware/v1/receipts/batch']);
  });
});
