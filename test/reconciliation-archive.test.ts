import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReconciliationReport } from '../domain/reconciliation';
import { admin } from './support/refunds';
import { deleteAsRetentionWould } from './support/retention';
import { eventually, startTestStack, type TestStack } from './support/stack';

// Reconciliation reports are the results of closed workflows, which vanish with the namespace's retention.
// Each finished run is also archived under REPORTS_DIR (JSON and CSV), kept for RECONCILIATION_REPORTS_KEEP
// (default 400 days) whatever the retention, and served by the admin API from there.
describe('reconciliation reports outlive retention', () => {
  let stack: TestStack;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pos-reports-'));
    // A day far beyond the keeping period, left by an old run: the next archive removes it.
    mkdirSync(join(dir, '2001-01-01'));
    stack = await startTestStack({ reportsDir: dir });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a finished run is archived as JSON and CSV and still served after its workflow is deleted', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const run = await admin(stack).post<ReconciliationReport>('/api/reconciliation/runs?wait=1', { from, to });
    expect(run.status).toBe(200);
    const report = run.body;
    expect(report.finishedAt).toBeTruthy();
    const day = report.startedAt.slice(0, 10);

    const files = await eventually(() => {
      const names = existsSync(join(dir, day)) ? readdirSync(join(dir, day)) : [];
      return names.length >= 2 ? names.sort() : undefined;
    }, 'the archived report files');
    expect(files).toEqual([`${report.runId.replace(/:/g, '_')}.csv`, `${report.runId.replace(/:/g, '_')}.json`]);
    expect(existsSync(join(dir, '2001-01-01'))).toBe(false);

    // Retention passes: the run's workflow is deleted; the live report door no longer has it, the archive does.
    await deleteAsRetentionWould(stack, report.runId);
    await eventually(async () => ((await admin(stack).get(`/api/reconciliation/reports/${day}`)).status === 404 ? true : undefined), 'the live report gone');

    const listed = await admin(stack).get<{ days: string[] }>('/api/reconciliation/archive');
    expect(listed.body.days).toEqual([day]);
    const archived = await admin(stack).get<{ runs: { runId: string; from: string; to: string }[] }>(`/api/reconciliation/archive/${day}`);
    expect(archived.status).toBe(200);
    expect(archived.body.runs).toEqual([expect.objectContaining({ runId: report.runId, from: report.from, to: report.to })]);
    const csv = await fetch(`${stack.apiUrl}/api/reconciliation/archive/${day}?format=csv`, { headers: { authorization: `Bearer ${stack.adminApiKey}` } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text.split(/\r?\n/)[0]).toBe('class,action,order_id,receipt_id,terminal_store_id,store_id,terminal_amount_rub,bitrix_amount_rub,at,workflow_id,found,done,run_id,correction');
    // Admin only.
    expect((await fetch(`${stack.apiUrl}/api/reconciliation/archive/${day}`)).status).toBe(401);
  }, 120_000);
});
