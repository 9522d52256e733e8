// UpgradeRefused: the error that refuses an HTTP request (an upgrade, or a web request under
// webAuth) with a status, optional headers and reason phrase, and separate response and log
// texts. Token resolvers and auth plugins throw it; the proxy core writes it out.

import { WebsockifyError } from './websockify-error.js';

/** Optional parts of a refusal beyond its status and message (undefined: left out). */
export interface RefusalDetails {
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string> | undefined;
  /** Reason phrase of the status line (default: the standard one for the status). */
  reason?: string | undefined;
  /** What the log line says, when it should say more than the response (default: message). */
  logMessage?: string | undefined;
  /**
   * What the refusal is about, when that is more specific than the step that refused it:
   * `'origin'` for an auth plugin that checks the Origin header (the server's `'refused'`
   * event then says `origin` instead of `auth`).
   */
  kind?: 'origin' | undefined;
}

/**
 * An error a target resolver or auth plugin may throw to refuse an upgrade with a given HTTP
 * status; `message` is the response body.
 */
export class UpgradeRefused extends WebsockifyError {
  readonly headers: Record<string, string>;
  readonly reason: string | undefined;
  readonly logMessage: string;
  readonly kind: 'origin' | undefined;

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
    this.kind = details.kind;
  }
}
