// The `--traffic` tap: what the proxy reports as data moves. The reference's legend, which the
// default tap (config/defaults.ts) writes to stdout:
// `}` client receive, `{` target receive, `>` target send (`.>` when the target's buffer is
// full), `<` client send (`<.` when the client's buffer is full).

export interface TrafficTap {
  clientReceive(): void;
  targetReceive(): void;
  targetSend(partial: boolean): void;
  clientSend(partial: boolean): void;
}
