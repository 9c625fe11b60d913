export { posPaymentWorkflow } from './pos-payment';
export { bitrixOrderEventsWorkflow } from './order-events';
export { unmatchedReceiptWorkflow } from './unmatched-receipt';
