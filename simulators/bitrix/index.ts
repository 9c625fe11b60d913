export { startBitrixSimulator } from './server';
export type { BitrixFaults, BitrixSimulator, BitrixSimulatorOptions, RateLimit, RequestCounts, SimSnapshot } from './server';
export type { CreateOrderInput } from './state';
export type { EventDelivery } from './events';
export type { SimCashbox, SimCashboxHandler, SimCashboxRule, SimCheck } from './cashbox';
