// Byte and string conversions on plain Uint8Arrays, so that they run unchanged in browsers and
// in Node (atob/btoa are globals in both; Buffer is Node-only): latin1 strings (one character
// per byte, as the original Websock's string methods) and base64 for the legacy subprotocol.

/** A string of one character per byte. */
export function latin1FromBytes(bytes: Uint8Array): string {
  let text = '';
  // Chunks keep String.fromCharCode's argument count well under engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return text;
}

/** The bytes of a string of one character per byte; a wider character is a RangeError. */
export function bytesFromLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      throw new RangeError(`character ${name} at ${i} is not one byte: send new TextEncoder().encode(text) for UTF-8`);
    }
    bytes[i] = code;
  }
  return bytes;
}

/** Encodes bytes as base64 text. */
export function encodeBase64(bytes: Uint8Array): string {
  return btoa(latin1FromBytes(bytes));
}

/** Decodes base64 text (whitespace ignored); throws on invalid input. */
export function decodeBase64(text: string): Uint8Array {
  return bytesFromLatin1(atob(text.replace(/\s+/g, '')));
}
