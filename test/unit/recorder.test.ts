// The lines of a session recording, byte for byte as the reference writes them: each byte
// escaped as Python's unicode_escape does (then `'` as `\'`), so that noVNC's playback page can
// load the file as a script and get every byte back.

import { describe, expect, it } from '@jest/globals';
import { frameLine, FROM_CLIENT, TO_CLIENT } from '../../src/proxy/recorder.js';

describe('frameLine', () => {
  it('writes direction, milliseconds, direction, the escaped bytes, as one quoted array item', () => {
    expect(frameLine(TO_CLIENT, 0, Buffer.from('RFB 003.008\n')).toString('latin1')).toBe(
      String.raw`'{0{RFB 003.008\n',` + '\n',
    );
    expect(frameLine(FROM_CLIENT, 1234, Buffer.alloc(0)).toString('latin1')).toBe(`'}1234}',\n`);
  });

  it('escapes quote, backslash, tab, newline and return by name, other non-printables as \\xhh', () => {
    const bytes = Buffer.from([
      0x41, 0x27, 0x5c, 0x09, 0x0a, 0x0d, 0x00, 0x1f, 0x7f, 0x80, 0xab, 0xff, 0x20, 0x7e, 0x22,
    ]);
    expect(frameLine(FROM_CLIENT, 7, bytes).toString('latin1')).toBe(
      String.raw`'}7}A\'\\\t\n\r\x00\x1f\x7f\x80\xab\xff ~"',` + '\n',
    );
  });

  it('every byte value reads back from the line as a JavaScript string', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, b) => b));
    const line = frameLine(TO_CLIENT, 99, all).toString('latin1');
    expect(line.endsWith("',\n")).toBe(true);
    // The line without its trailing `,\n` is a string literal, as the playback page reads it.
    const read = new Function(`return ${line.slice(0, -2)};`)() as string;
    expect(read).toBe(`{99{${all.toString('latin1')}`);
  });
});
