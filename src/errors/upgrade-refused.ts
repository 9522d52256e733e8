// UpgradeRefused: the error that refuses an HTTP request (an upgrade, or a web request under
// webAuth) with a status, optional headers and reason phrase, and separate response and log
// texts. Token resolvers and auth plugins throw it; the proxy core writes it out.

import { WebsockifyError } from './websockify-error.js';

/** Optional parts of a refusal beyond its status and message. */
export interface RefusalDetails {
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
  /** Reason phrase of the status line (default: the standard one for the status). */
  reason?: string;
  /** What the log line says, when it should say more than the response (default: message). */
  logMessage?: string;
}

/**
 * An error a target resolver or auth plugin may throw to refuse an upgrade with a given HTTP
 * status; `message` is the response body.
 */
export class UpgradeRefused extends WebsockifyError {
  readonly headers: Record<string, string>;
  readonly reason: string | undefined;
  readonly logMessage: string;

  constructor(
    readonly status: number,
    message: string,
    details: RefusalDetails = {},
  ) {
    super('ERR_UPGRADE_REFUSED', message);
    this.name = 'UpgradeRefused';
    this.headers = details.headers ?? {};
    this.reason = details.reason;
    this.logMessage = details.logMessage ?? message;
  }
}
