/**
 * KMS returns ECDSA signatures DER-encoded (RFC 3279: SEQUENCE { r INTEGER, s INTEGER }); JWS wants r‖s, each
 * left-padded to the curve size (RFC 7518 §3.4). DER integers are minimal and signed: a leading 0x00 is added when
 * the top bit is set, and an integer may be shorter than the curve size when it has leading zero bytes.
 */
export function derToJose(der: Uint8Array, size: number): Uint8Array {
  const fail = (why: string): never => {
    throw new Error(`malformed DER ECDSA signature: ${why}`);
  };
  let offset = 0;
  const byte = () => (offset < der.length ? der[offset++]! : fail('truncated'));
  const length = () => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) fail('unsupported length form');
    const value = byte();
    if (value < 0x80) fail('non-minimal length');
    return value;
  };
  const integer = () => {
    if (byte() !== 0x02) fail('expected an INTEGER');
    const len = length();
    if (len === 0 || offset + len > der.length) fail('bad INTEGER length');
    let bytes = der.subarray(offset, offset + len);
    offset += len;
    if (bytes[0]! & 0x80) fail('negative INTEGER');
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
    if (bytes.length > size) fail('INTEGER larger than the curve');
    const padded = new Uint8Array(size);
    padded.set(bytes, size - bytes.length);
    return padded;
  };
  if (byte() !== 0x30) fail('expected a SEQUENCE');
  if (length() !== der.length - offset) fail('SEQUENCE length mismatch');
  const r = integer();
  const s = integer();
  if (offset !== der.length) fail('trailing bytes');
  const jose = new Uint8Array(size * 2);
  jose.set(r, 0);
  jose.set(s, size);
  return jose;
}
