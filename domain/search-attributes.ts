import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes shown and filtered in the Temporal Web UI. No personal data goes into them.
// Not named "Status": that clashes with the UI's own column.
export const PosOrderId = defineSearchAttributeKey('PosOrderId', SearchAttributeType.KEYWORD);
export const PosStage = defineSearchAttributeKey('PosStage', SearchAttributeType.KEYWORD);
export const PosStageSince = defineSearchAttributeKey('PosStageSince', SearchAttributeType.DATETIME);
export const PosStore = defineSearchAttributeKey('PosStore', SearchAttributeType.KEYWORD);
export const PosTerminal = defineSearchAttributeKey('PosTerminal', SearchAttributeType.KEYWORD);
export const PosFiscalMode = defineSearchAttributeKey('PosFiscalMode', SearchAttributeType.KEYWORD);
export const PosReceiptId = defineSearchAttributeKey('PosReceiptId', SearchAttributeType.KEYWORD);
/** The number the customer and cashier see (not personal data); with PosTotal it matches receipts rung by hand. */
export const PosOrderNumber = defineSearchAttributeKey('PosOrderNumber', SearchAttributeType.KEYWORD);
/** The order total in kopecks. */
export const PosTotal = defineSearchAttributeKey('PosTotal', SearchAttributeType.INT);

export const ALL_SEARCH_ATTRIBUTES = [
  PosOrderId, PosStage, PosStageSince, PosStore, PosTerminal, PosFiscalMode, PosReceiptId, PosOrderNumber, PosTotal,
];
