// WebSocket close codes and the reasons this proxy sends with them. Reasons match the Python
// reference where clients or scripts may depend on them.

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
} as const;

export const CloseReason = {
  targetClosed: 'Target closed',
  connectFailed: 'Failed to connect to downstream server',
  targetError: 'Downstream connection error',
  targetStalled: 'Downstream server stopped reading',
  textUnsupported: 'Unsupported: Text frames are not supported',
  badBase64: 'Invalid base64 payload',
  goingAway: 'Going away',
  heartbeatTimeout: 'No pong received',
} as const;
