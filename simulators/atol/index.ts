export { startAtolSimulator, atolFaultsSchema } from './simulator';
export type {
  AtolFaults, AtolSimulator, AtolSimulatorOptions, AtolSimulatorState, CallbackRecord, SimulatedReceipt,
} from './simulator';
