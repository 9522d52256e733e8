// Reading session recordings in tests: waiting until a recording file is complete (it ends
// with the footer the recorder writes after the session ends).

import { readFileSync } from 'node:fs';
import { eventually } from './wait.js';

/** Waits until `file` ends with the recording footer and returns its text (Latin-1). */
export function finishedRecording(file: string, ms = 10000): Promise<string> {
  return eventually(
    () => {
      let text = '';
      try {
        text = readFileSync(file, 'latin1');
      } catch {
        // not created yet
      }
      return text.endsWith("'EOF'];\n") && text;
    },
    `footer in ${file}`,
    { ms },
  );
}
