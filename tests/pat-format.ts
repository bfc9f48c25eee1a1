// The PAT format's checksum (spec §3: CRC32 IEEE of the 30 random characters, base62, padded
// to 6), written here independently of the Rust implementation, for the suites that make or
// check tokens themselves.
export const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function base62(n: number, width: number): string {
  let s = "";
  while (n > 0) {
    s = B62[n % 62] + s;
    n = Math.floor(n / 62);
  }
  return s.padStart(width, "0");
}

/** The 6-character checksum of a token's random part. */
export function checksum(random: string): string {
  return base62(crc32(new TextEncoder().encode(random)), 6);
}
