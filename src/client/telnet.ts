// The client side of the telnet protocol (RFC 854) for a terminal: separates the server's data
// from its commands, answers option negotiation (accepts the server's ECHO and SGA, offers NAWS
// window sizes and a terminal type, refuses the rest without ever answering an acknowledgement,
// so negotiation cannot loop), and escapes what the user types. It does no I/O of its own.

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;

/** Telnet options this client knows. */
export const TelnetOption = { ECHO: 1, SGA: 3, TTYPE: 24, NAWS: 31 } as const;

const TTYPE_IS = 0;
const TTYPE_SEND = 1;

/** Options the server may enable on its side (it echoes, it suppresses go-ahead). */
const ACCEPTED_FROM_SERVER = new Set<number>([TelnetOption.ECHO, TelnetOption.SGA]);
/** Options this client enables when asked to. */
const OFFERED_BY_CLIENT = new Set<number>([TelnetOption.NAWS, TelnetOption.TTYPE, TelnetOption.SGA]);

export interface TelnetIO {
  /** Bytes for the server, already in telnet form. */
  send(bytes: Uint8Array): void;
  /** The server's data with every telnet command removed, for the display. */
  display(bytes: Uint8Array): void;
}

export interface TelnetClientOptions {
  /** Sent when the server asks for the terminal type. Default "XTERM-256COLOR". */
  terminalType?: string;
  /** The window size to report with NAWS until `resize` is called. Default 80x24. */
  cols?: number;
  rows?: number;
}

const enum State {
  Data,
  Command,
  Option,
  Subnegotiation,
  SubnegotiationCommand,
  AfterCR,
}

/**
 * A telnet client protocol handler.
 *
 * @example
 * ```ts
 * const telnet = new TelnetClient({ send: (b) => sock.send(b), display: (b) => term.write(b) });
 * sock.on('message', () => telnet.receive(sock.rQshiftBytes()));
 * term.onData((text) => telnet.input(new TextEncoder().encode(text)));
 * term.onResize(({ cols, rows }) => telnet.resize(cols, rows));
 * ```
 */
export class TelnetClient {
  private readonly io: TelnetIO;
  private readonly terminalType: string;
  private cols: number;
  private rows: number;
  private state = State.Data;
  private verb = 0;
  private subnegotiation: number[] = [];
  /** Options the server has enabled on its side (after our DO). */
  private readonly serverEnabled = new Set<number>();
  /** Options this client has enabled (after our WILL). */
  private readonly clientEnabled = new Set<number>();

  constructor(io: TelnetIO, options: TelnetClientOptions = {}) {
    this.io = io;
    this.terminalType = options.terminalType ?? 'XTERM-256COLOR';
    this.cols = options.cols ?? 80;
    this.rows = options.rows ?? 24;
  }

  /** True when the server echoes what is typed (it enabled ECHO), so the display must not. */
  get serverEchoes(): boolean {
    return this.serverEnabled.has(TelnetOption.ECHO);
  }

  /** Handles bytes from the server: data goes to `display`, negotiation answers to `send`. */
  receive(bytes: Uint8Array): void {
    const data: number[] = [];
    for (const b of bytes) {
      switch (this.state) {
        case State.Data:
          if (b === IAC) this.state = State.Command;
          else {
            data.push(b);
            if (b === 13) this.state = State.AfterCR;
          }
          break;
        case State.AfterCR:
          // CR NUL is a bare carriage return in telnet's network virtual terminal.
          this.state = State.Data;
          if (b === IAC) this.state = State.Command;
          else if (b !== 0) {
            data.push(b);
            if (b === 13) this.state = State.AfterCR;
          }
          break;
        case State.Command:
          if (b === IAC) {
            data.push(IAC);
            this.state = State.Data;
          } else if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.verb = b;
            this.state = State.Option;
          } else if (b === SB) {
            this.subnegotiation = [];
            this.state = State.Subnegotiation;
          } else {
            this.state = State.Data; // NOP, GA, AYT...: nothing to show
          }
          break;
        case State.Option:
          this.negotiate(this.verb, b);
          this.state = State.Data;
          break;
        case State.Subnegotiation:
          if (b === IAC) this.state = State.SubnegotiationCommand;
          else this.subnegotiation.push(b);
          break;
        case State.SubnegotiationCommand:
          if (b === SE) {
            this.subnegotiate(this.subnegotiation);
            this.state = State.Data;
          } else {
            if (b === IAC) this.subnegotiation.push(IAC);
            this.state = State.Subnegotiation;
          }
          break;
      }
    }
    if (data.length > 0) this.io.display(Uint8Array.from(data));
  }

  /**
   * Sends what the user typed: 0xFF doubled, and a carriage return not followed by a line feed
   * sent as CR NUL (telnet's form of a bare CR, which is what the Enter key produces).
   */
  input(bytes: Uint8Array): void {
    const out: number[] = [];
    bytes.forEach((b, i) => {
      out.push(b);
      if (b === IAC) out.push(IAC);
      if (b === 13 && bytes[i + 1] !== 10) out.push(0);
    });
    if (out.length > 0) this.io.send(Uint8Array.from(out));
  }

  /** Records the window size and reports it when the server has asked for NAWS. */
  resize(cols: number, rows: number): void {
    if (cols === this.cols && rows === this.rows) return;
    this.cols = cols;
    this.rows = rows;
    if (this.clientEnabled.has(TelnetOption.NAWS)) this.sendWindowSize();
  }

  private negotiate(verb: number, option: number): void {
    switch (verb) {
      case WILL:
        if (this.serverEnabled.has(option)) return; // an acknowledgement
        if (ACCEPTED_FROM_SERVER.has(option)) {
          this.serverEnabled.add(option);
          this.command(DO, option);
        } else {
          this.command(DONT, option);
        }
        return;
      case WONT:
        if (this.serverEnabled.delete(option)) this.command(DONT, option);
        return;
      case DO:
        if (this.clientEnabled.has(option)) return;
        if (OFFERED_BY_CLIENT.has(option)) {
          this.clientEnabled.add(option);
          this.command(WILL, option);
          if (option === TelnetOption.NAWS) this.sendWindowSize();
        } else {
          this.command(WONT, option);
        }
        return;
      case DONT:
        if (this.clientEnabled.delete(option)) this.command(WONT, option);
        return;
    }
  }

  private subnegotiate(body: number[]): void {
    if (body[0] === TelnetOption.TTYPE && body[1] === TTYPE_SEND && this.clientEnabled.has(TelnetOption.TTYPE)) {
      const name = Array.from(this.terminalType, (c) => c.charCodeAt(0) & 0x7f);
      this.io.send(Uint8Array.from([IAC, SB, TelnetOption.TTYPE, TTYPE_IS, ...name, IAC, SE]));
    }
  }

  private sendWindowSize(): void {
    const size = [this.cols >> 8, this.cols & 0xff, this.rows >> 8, this.rows & 0xff].flatMap((b) =>
      b === IAC ? [IAC, IAC] : [b],
    );
    this.io.send(Uint8Array.from([IAC, SB, TelnetOption.NAWS, ...size, IAC, SE]));
  }

  private command(verb: number, option: number): void {
    this.io.send(Uint8Array.from([IAC, verb, option]));
  }
}
