// The `--traffic` legend of the reference, written to stdout as data moves:
// `}` client receive, `{` target receive, `>` target send (`.>` when the target's buffer is
// full), `<` client send (`<.` when the client's buffer is full).

export interface TrafficTap {
  clientReceive(): void;
  targetReceive(): void;
  targetSend(partial: boolean): void;
  clientSend(partial: boolean): void;
}

export function stdoutTraffic(): TrafficTap {
  const out = (s: string): void => {
    process.stdout.write(s);
  };
  return {
    clientReceive: () => out('}'),
    targetReceive: () => out('{'),
    targetSend: (partial) => out(partial ? '.>' : '>'),
    clientSend: (partial) => out(partial ? '<.' : '<'),
  };
}
