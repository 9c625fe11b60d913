/** An error the simulator answers as { code, message } with its HTTP status. */
export class SimulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'BAD_REQUEST',
  ) {
    super(message);
  }
}
