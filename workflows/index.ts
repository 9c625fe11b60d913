export { posPaymentWorkflow } from './pos-payment';
export { bitrixOrderEventsWorkflow } from './order-events';
export { terminalReceiptWorkflow } from './terminal-receipt';
export { walkInDeductionsWorkflow } from './walk-in-deductions';
export { walkInProblemWorkflow } from './walk-in-problem';
export { refundWorkflow } from './refund';
export { refundLedgerWorkflow } from './refund-ledger';
export { orderCancellationWorkflow } from './order-cancellation';
