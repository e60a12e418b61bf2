/** Version N of the content the writer property test writes: 256 KiB of the byte N mod 251, then N as 4 bytes. */
export function versionBytes(version: number): Uint8Array {
  const bytes = new Uint8Array(256 * 1024 + 4).fill(version % 251);
  new DataView(bytes.buffer).setUint32(256 * 1024, version);
  return bytes;
}

/** The version `bytes` is, whole; undefined for anything else (a part, a mix). */
export function versionOf(bytes: Uint8Array): number | undefined {
  if (bytes.length !== 256 * 1024 + 4) return undefined;
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(256 * 1024);
  return bytes.subarray(0, 256 * 1024).every((b) => b === version % 251) ? version : undefined;
}
