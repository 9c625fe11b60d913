import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTracing, tracingFromEnv, type Tracing } from '../lib/tracing';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { eventually, startTestStack, type TestStack } from './support/stack';

// TRACING=otlp: the hand-overs to Temporal and the activities become OpenTelemetry spans (here caught in memory
// instead of sent by OTLP). Off by default.
describe('OpenTelemetry tracing', () => {
  let stack: TestStack;
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    tracing = createTracing({ serviceName: 'bridge-test', exporter });
    stack = await startTestStack({ tracing });
  });
  afterAll(async () => {
    await stack?.stop();
    await tracing?.shutdown();
  });

  it('is off unless TRACING=otlp', () => {
    expect(tracingFromEnv({}, 'x')).toBeUndefined();
    expect(tracingFromEnv({ TRACING: 'off' }, 'x')).toBeUndefined();
  });

  it('a walk-in sale through the middleware door leaves spans of its hand-overs and its Bitrix batch activity', async () => {
    const receipts = [walkInReceipt('msk-1', [{ productId: '101', quantity: 1, price: 249000 }])];
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts)).status).toBe(200);
    const spans = await eventually(async () => {
      await tracing.flush();
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === 'RunActivity:deductWalkInBatch') ? all : undefined;
    }, 'the batch activity span', 60_000);
    const names = spans.map((s: ReadableSpan) => s.name);
    expect(names).toEqual(expect.arrayContaining(['StartWorkflow:terminalReceiptWorkflow', 'UpdateWithStartWorkflow:queueReceipts', 'RunActivity:deductWalkInBatch']));
    expect(spans.every((s) => s.resource.attributes['service.name'] === 'bridge-test')).toBe(true);
    // No receipt contents or secrets in the span attributes: ids of workflows at most.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(stack.middlewareKeys.split(':')[1]);
  }, 90_000);
});
