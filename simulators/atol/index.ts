export { startAtolSimulator, atolFaultsSchema, atolFaultOperations } from './simulator';
export type {
  AtolFaultOperation, AtolFaults, AtolSimulator, AtolSimulatorOptions, AtolSimulatorState, CallbackRecord, SimulatedReceipt,
} from './simulator';
