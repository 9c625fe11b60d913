import type { FiscalAttributes } from '../../domain/fiscal';
import type { TerminalOrderPayload } from '../../domain/terminal-payload';

/** What the workflows need from a pickup point's terminal, whatever its kind. */
export interface TerminalAdapter {
  /**
   * Offers the order to the store's terminals (`deviceIds` from POS_CONFIG, where the kind has them) until `activeTill` (best effort: the cashier can always find
   * the order by its number). `pulled`: the terminal side fetches waiting orders itself (nothing was sent).
   */
  pushOrder(target: { storeId?: string; deviceIds: string[] }, payload: TerminalOrderPayload, activeTill: Date): Promise<{ pushId?: string; pulled?: boolean }>;
  /** The fiscal attributes the terminal's own fiscal drive printed; null while not (yet) known. */
  fiscalAttributes(receipt: { terminalStoreId: string; receiptId: string }): Promise<FiscalAttributes | null>;
}
