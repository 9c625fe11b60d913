import type { FiscalAttributes } from '../../domain/fiscal';
import type { TerminalOrderPayload } from '../../domain/terminal-payload';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { CompanyAccounts } from '../shared/company-clients';
import { classifyErrors } from '../shared/activity-errors';
import type { TerminalAdapter } from './adapter';
import { evotorTerminal } from './evotor';
import type { TerminalKind } from '../../domain/terminal-kinds';
import { middlewareTerminal } from './middleware';

export interface TerminalActivityDeps {
  /** Each store's company's Evotor account. */
  accounts: CompanyAccounts;
  config: PosConfig;
  logger?: Logger;
}

/**
 * The terminal side of the payment workflow, one interface for every kind: each call goes to the adapter
 * of the store's (or receipt's) terminal kind. Runs on the `evotor` task queue (terminal clouds' limits).
 */
export function createTerminalActivities({ accounts, config, logger }: TerminalActivityDeps) {
  const adapters: Record<TerminalKind, TerminalAdapter> = {
    evotor: evotorTerminal(accounts, logger),
    middleware: middlewareTerminal(),
  };

  return classifyErrors({
    /** Best effort: the cashier can always find the order by its number. */
    async pushOrderToTerminal(input: { storeId?: string; deviceIds: string[]; payload: TerminalOrderPayload; activeTill: string }): Promise<{ pushId?: string; pulled?: boolean }> {
      // Histories from before terminal kinds carry no storeId: those were Evotor pushes.
      const kind = config.stores.find((s) => s.id === input.storeId)?.terminalKind ?? 'evotor';
      return adapters[kind].pushOrder({ storeId: input.storeId, deviceIds: input.deviceIds }, input.payload, new Date(input.activeTill));
    },

    /** The fiscal attributes printed by the terminal's own fiscal drive; null while the cloud document lags. */
    async fetchReceiptFiscalAttributes(input: { terminalKind?: TerminalKind; terminalStoreId: string; receiptId: string }): Promise<FiscalAttributes | null> {
      return adapters[input.terminalKind ?? 'evotor'].fiscalAttributes(input);
    },
  });
}

export type TerminalActivities = ReturnType<typeof createTerminalActivities>;
