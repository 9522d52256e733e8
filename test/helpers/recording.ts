// Reading session recordings in tests: waiting until a recording file is complete (it ends
// with the footer the recorder writes after the session ends).

import { readFileSync } from 'node:fs';
import { withTimeout } from './clients.js';

/** Waits until `file` ends with the recording footer and returns its text (Latin-1). */
export function finishedRecording(file: string, ms = 10000): Promise<string> {
  return withTimeout(
    (async () => {
      for (;;) {
        let text = '';
        try {
          text = readFileSync(file, 'latin1');
        } catch {
          // not created yet
        }
        if (text.endsWith("'EOF'];\n")) return text;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    ms,
    `footer in ${file}`,
  );
}
