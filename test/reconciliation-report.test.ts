import {
  addPage,
  mergeDayReports,
  newReport,
  previousDayWindow,
  recentWindow,
  reportItemsToCsv,
  reportSummary,
  type ReportItem,
} from '../domain/reconciliation';

// The report's arithmetic: windows in the stores' time zone, counting each divergence once, the day's
// merge and the accountant's CSV.
describe('reconciliation reports', () => {
  const item = (over: Partial<ReportItem> = {}): ReportItem => ({
    class: 'walk-in-not-recorded',
    key: 'r-1',
    action: 'healed',
    found: 'found',
    done: 'done',
    receiptId: 'r-1',
    ...over,
  });

  it('the nightly window is the previous local day, also across a change to summer time', () => {
    expect(previousDayWindow(Date.parse('2026-11-29T01:00:00Z'), 'Europe/Moscow')).toEqual({
      from: '2026-11-27T21:00:00.000Z',
      to: '2026-11-28T21:00:00.000Z',
      date: '2026-11-28',
    });
    // 02:00 in Moscow is still 23:00 UTC the day before: the local day is what counts.
    expect(previousDayWindow(Date.parse('2026-11-28T23:00:00Z'), 'Europe/Moscow').date).toBe('2026-11-28');
    // Berlin went to summer time on 2026-03-29: that day had 23 hours.
    const spring = previousDayWindow(Date.parse('2026-03-30T10:00:00Z'), 'Europe/Berlin');
    expect(spring).toEqual({ from: '2026-03-28T23:00:00.000Z', to: '2026-03-29T22:00:00.000Z', date: '2026-03-29' });
    expect(recentWindow(Date.parse('2026-11-29T12:00:00Z'), 2 * 3_600_000, 300_000)).toEqual({ from: '2026-11-29T09:55:00.000Z', to: '2026-11-29T11:55:00.000Z' });
  });

  it('counts a divergence once however many pages see it, and lists at most maxItems', () => {
    const report = newReport('run-1', 'manual', { from: 'a', to: 'b' }, 's');
    addPage(report, { items: [item(), item({ key: 'r-2' }), item({ class: 'amount-mismatch', action: 'reported' })], totals: { terminalDocuments: 50 }, requests: { evotor: 1 } }, 2);
    addPage(report, { items: [item()], totals: { terminalDocuments: 10 }, requests: { evotor: 1, temporal: 3 } }, 2);
    expect(report.counts['walk-in-not-recorded']).toEqual({ healed: 2, reported: 0 });
    expect(report.counts['amount-mismatch']).toEqual({ healed: 0, reported: 1 });
    expect(report.items).toHaveLength(2);
    expect(report.itemsOmitted).toBe(1);
    expect(report.totals.terminalDocuments).toBe(60);
    expect(report.requests).toEqual({ evotor: 2, bitrix: 0, temporal: 3 });
    expect(reportSummary(report)).toContain('| walk-in-not-recorded | 2 | 0 |');
    expect(reportSummary(report)).toContain('1 more item(s) counted but not listed.');
    expect(reportSummary(report)).not.toContain('Correction receipts');
  });

  it('sums up the correction receipts in the summary', () => {
    const report = newReport('run-1', 'manual', { from: 'a', to: 'b' }, 's');
    const late = (key: string, correction: ReportItem['correction']) => item({ class: 'payment-without-fiscal-receipt', key, correction });
    addPage(report, { items: [late('r-1', 'issued'), late('r-2', 'issued'), late('r-3', 'at-terminal'), item({ key: 'r-4' })], totals: {}, requests: {} }, 10);
    expect(reportSummary(report)).toContain('Correction receipts (payments without their receipt): 2 issued at a cloud register, 1 to be made at the terminal, 0 in 1C:Retail');
  });

  it('merges a day: each divergence once, healed wins, with how many runs saw it', () => {
    const early = newReport('run-1', 'frequent', { from: 'a', to: 'b' }, '2026-11-29T10:00:00Z');
    early.items = [item({ action: 'reported', done: 'asked a person' }), item({ class: 'stuck-workflow', key: 'pos-payment:1@LOADING', action: 'reported' })];
    const late = newReport('run-2', 'frequent', { from: 'a', to: 'b' }, '2026-11-29T10:15:00Z');
    late.items = [item({ workflowId: 'terminal-receipt:s:r-1' }), item({ class: 'stuck-workflow', key: 'pos-payment:1@LOADING', action: 'reported' })];
    const day = mergeDayReports('2026-11-29', [late, early]);
    expect(day.runs.map((r) => r.runId)).toEqual(['run-1', 'run-2']);
    expect(day.items).toHaveLength(2);
    expect(day.items[0]).toMatchObject({ action: 'healed', done: 'done', workflowId: 'terminal-receipt:s:r-1', runs: 2, firstRunId: 'run-1' });
    expect(day.counts['walk-in-not-recorded']).toEqual({ healed: 1, reported: 0 });
    expect(day.counts['stuck-workflow']).toEqual({ healed: 0, reported: 1 });
  });

  it('writes CSV with rubles and quoted text', () => {
    const csv = reportItemsToCsv([item({ class: 'amount-mismatch', action: 'reported', orderId: '42', terminalAmount: 500000, bitrixAmount: 567105, found: 'took "less", see', at: '2026-11-29T10:00:00.000Z' })], 'run-9');
    const [header, row, end] = csv.split('\r\n');
    expect(header).toBe('class,action,order_id,receipt_id,terminal_store_id,store_id,terminal_amount_rub,bitrix_amount_rub,at,workflow_id,found,done,run_id,correction');
    expect(row).toBe('amount-mismatch,reported,42,r-1,,,5000.00,5671.05,2026-11-29T10:00:00.000Z,,"took ""less"", see",done,run-9,');
    expect(end).toBe('');
    // A settlement found without its receipt says how its correction receipt is made.
    const corrected = reportItemsToCsv([item({ class: 'payment-without-fiscal-receipt', orderId: '7', correction: 'issued' })], 'run-9').split('\r\n')[1];
    expect(corrected.split(',').slice(0, 3)).toEqual(['payment-without-fiscal-receipt', 'healed', '7']);
    expect(corrected.endsWith(',run-9,issued')).toBe(true);
    // An id that looks like a formula stays text in a spreadsheet.
    expect(reportItemsToCsv([item({ receiptId: '=HYPERLINK("x")' })]).split('\r\n')[1]).toContain(',"\'=HYPERLINK(""x"")",');
  });
});
