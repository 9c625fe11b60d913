import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';

// Recorded histories of the main paths (scripts/record-histories.ts) replayed against today's workflow
// code: a change that would break workflows already running in production fails here.
describe('replay of recorded workflow histories', () => {
  const dir = join(__dirname, 'fixtures', 'histories');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('has the main paths recorded', () => {
    expect(files.sort()).toEqual([
      'bitrix-cashbox-check-applied.json',
      'bitrix-cashbox-check-waited-applied.json',
      'bitrix-order-events-started-payment.json',
      'order-cancellation-refunded.json',
      'pos-payment-atol-correction-completed.json',
      'pos-payment-atol-fail-retry-completed.json',
      'pos-payment-cancelled-mid-flow-refunded.json',
      'pos-payment-deadline-cancelled.json',
      'pos-payment-needs-attention-notified-retried.json',
      'pos-payment-terminal-completed-sale-recorded.json',
      'pos-payment-terminal-completed.json',
      'refund-ledger-order-open.json',
      'refund-ledger-order-sale-recorded.json',
      'refund-partial-completed.json',
      'terminal-receipt-held-resolved.json',
      'terminal-receipt-walk-in-local-matching.json',
      'terminal-receipt-walk-in-queued.json',
      'walk-in-deductions-door-update.json',
      'walk-in-deductions-one-batch.json',
    ]);
  });

  it('replays every history without nondeterminism', async () => {
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
