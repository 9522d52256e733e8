// The error a cluster's start-up ends with when a worker could not start: the worker logged
// why (through the primary) and reported the exit status the command should end with.

export class WorkerStartError extends Error {
  constructor(readonly status: number) {
    super(`a worker failed to start (status ${status})`);
    this.name = 'WorkerStartError';
  }
}
