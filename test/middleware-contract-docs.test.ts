import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { FiscalConfirmationSchema, MAX_RECEIPTS_PER_BATCH, MiddlewareReceiptSchema } from '../api/routes/middleware';

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
