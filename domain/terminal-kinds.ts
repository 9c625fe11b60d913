/**
 * The kinds of terminal a pickup point can have (POS_CONFIG `stores[].terminalKind`). Each kind is one file
 * in activities/terminals/ implementing `TerminalAdapter` (adapter.ts), registered in its activities.ts;
 * adding a kind is that file and its name here.
 */
export const TERMINAL_KINDS = ['evotor', 'middleware'] as const;
export type TerminalKind = (typeof TERMINAL_KINDS)[number];

/**
 * Fiscal modes each kind can serve. A middleware terminal (Ingenico/VeriFone through 1C:Retail or a
 * Windows service; MTS Kassa, LiteBox) has no cloud to read fiscal data from: its receipt is confirmed
 * through the middleware door (`1c`) or printed by a cloud register.
 */
export const FISCAL_MODES_BY_KIND: Record<TerminalKind, readonly string[]> = {
  evotor: ['terminal', 'atol', 'ferma', '1c'],
  middleware: ['1c', 'atol', 'ferma'],
};
