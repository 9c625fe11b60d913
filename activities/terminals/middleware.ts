import { ApplicationFailure } from '@temporalio/activity';
import type { TerminalAdapter } from './adapter';

/**
 * Terminals without an HTTP API of their own (Ingenico, VeriFone through 1C:Retail or a Windows service;
 * MTS Kassa, LiteBox), reached through our signed middleware door (docs/middleware-api.md). Nothing is
 * pushed: the middleware fetches the orders waiting at its store (`GET /middleware/v1/orders`), reports
 * payments and refunds, and confirms fiscal receipts (`POST /middleware/v1/fiscal-confirmations`).
 */
export function middlewareTerminal(): TerminalAdapter {
  return {
    async pushOrder() {
      return { pulled: true };
    },
    async fiscalAttributes() {
      // POS_CONFIG refuses fiscalMode "terminal" for this kind: the confirmation comes through the door.
      throw ApplicationFailure.nonRetryable('a middleware terminal reports fiscal data through POST /middleware/v1/fiscal-confirmations (fiscalMode "1c")', 'config');
    },
  };
}
