import { allHandlersFinished, condition, defineQuery, defineUpdate, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { Kopecks } from '../domain/money';
import { utf8Bytes, type ReceiptLine } from '../domain/walk-in';

/** What a refund needs of a walk-in sale (the receipt's lines as sold, its amount and time). */
export interface WalkInSaleFacts {
  receiptId: string;
  terminalStoreId: string;
  amount: Kopecks;
  currency: string;
  /** ISO 8601 UTC. */
  paidAt: string;
  lines: ReceiptLine[];
}

export interface WalkInSalesBookInput {
  storeId: string;
  /** The UTC day of the sales (YYYY-MM-DD). */
  day: string;
  part: number;
  /** ISO 8601 UTC: the book closes then (the end of the day's return period). */
  keepUntil: string;
}

/**
 * A book holds at most this many sales and bytes of them: its state never nears Temporal's payload limits and
 * its history stays a few thousand events. A full book refuses further sales (the Update's validator, so the
 * refusal writes nothing) and the intake opens the next part.
 */
export const BOOK_LIMITS = { sales: 2_000, bytes: 1_000_000 } as const;
export const BOOK_FULL = 'walk-in sales book is full';

export const recordWalkInSalesUpdate = defineUpdate<{ recorded: number }, [{ sales: WalkInSaleFacts[] }]>('recordWalkInSales');
export const walkInSaleQuery = defineQuery<WalkInSaleFacts | undefined, [string]>('sale');
export const walkInSalesBookQuery = defineQuery<{ storeId: string; day: string; part: number; sales: number; bytes: number; keepUntil: string }>('status');

export const bookBytes = (sale: WalkInSaleFacts): number => utf8Bytes(JSON.stringify(sale));

/**
 * One store's walk-in sales of one day (`walk-in-sales:{store}:{day}:{part}`), written by the door after the
 * sales are queued for deduction and before their receipt workflows record them. Receipt workflows close at
 * once and are gone after the namespace's retention; this stays open for the configured return period, so a
 * refund of a middleware walk-in sale (no cloud document to read it back from) still finds what was sold.
 */
export async function walkInSalesBookWorkflow(input: WalkInSalesBookInput): Promise<void> {
  const sales = new Map<string, WalkInSaleFacts>();
  let bytes = 0;

  const describe = () =>
    setCurrentDetails(
      [`**Walk-in sales of store ${input.storeId} on ${input.day}** (part ${input.part})`, `${sales.size} sales kept for refunds until ${input.keepUntil}`].join('\n\n'),
    );

  setHandler(walkInSaleQuery, (receiptId) => sales.get(receiptId));
  setHandler(walkInSalesBookQuery, () => ({ storeId: input.storeId, day: input.day, part: input.part, sales: sales.size, bytes, keepUntil: input.keepUntil }));
  setHandler(
    recordWalkInSalesUpdate,
    ({ sales: offered }) => {
      let recorded = 0;
      for (const sale of offered) {
        if (sales.has(sale.receiptId)) continue;
        sales.set(sale.receiptId, sale);
        bytes += bookBytes(sale);
        recorded++;
      }
      if (recorded > 0) describe();
      return { recorded };
    },
    {
      validator: ({ sales: offered }: { sales: WalkInSaleFacts[] }) => {
        const fresh = offered.filter((s) => !sales.has(s.receiptId));
        if (fresh.length === 0 || sales.size === 0) return;
        const more = fresh.reduce((sum, s) => sum + bookBytes(s), 0);
        if (sales.size + fresh.length > BOOK_LIMITS.sales || bytes + more > BOOK_LIMITS.bytes) throw new Error(BOOK_FULL);
      },
    },
  );

  describe();
  const ms = Date.parse(input.keepUntil) - Date.now();
  if (ms > 0) await condition(() => false, ms);
  await condition(allHandlersFinished);
}
