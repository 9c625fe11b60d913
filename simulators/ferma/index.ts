export { startFermaSimulator, fermaFaultsSchema, fermaFaultOperations } from './simulator';
export type {
  FermaCallbackRecord, FermaFaultOperation, FermaFaults, FermaSimReceiptType, FermaSimStage, FermaSimulator,
  FermaSimulatorOptions, FermaSimulatorState, SimulatedFermaReceipt,
} from './simulator';
