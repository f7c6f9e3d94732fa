import { derToJose } from '../../lambda/adapters/der';

const hex = (value: string) => Buffer.from(value.replace(/\s/g, ''), 'hex');
const der = (r: string, s: string) => {
  const int = (h: string) => `02${(h.length / 2).toString(16).padStart(2, '0')}${h}`;
  const body = int(r) + int(s);
  return hex(`30${(body.length / 2).toString(16).padStart(2, '0')}${body}`);
};

describe('DER ECDSA signature to JOSE', () => {
  const full = 'aa'.repeat(32);

  it('copies 32-byte integers as they are', () => {
    expect(Buffer.from(derToJose(der('11'.repeat(32), '22'.repeat(32)), 32)).toString('hex')).toBe(
      '11'.repeat(32) + '22'.repeat(32),
    );
  });

  it('drops the 0x00 sign byte DER adds when the top bit is set', () => {
    const jose = derToJose(der(`00${full}`, `00${full}`), 32);
    expect(Buffer.from(jose).toString('hex')).toBe(full + full);
  });

  it('left-pads integers shorter than 32 bytes (leading zero bytes)', () => {
    const jose = derToJose(der('01', '7f'.repeat(31)), 32);
    expect(Buffer.from(jose).toString('hex')).toBe(`${'00'.repeat(31)}01` + `00${'7f'.repeat(31)}`);
  });

  it.each([
    ['not a SEQUENCE', hex('3106020101020101')],
    ['a SEQUENCE length that does not match', hex('3007020101020101')],
    ['trailing bytes', Buffer.concat([der('01', '01'), hex('00')])],
    ['an integer longer than the curve', der('11'.repeat(33), '01')],
    ['a negative integer', der('80', '01')],
    ['a truncated signature', hex('300602010102')],
    ['an empty input', hex('')],
  ])('rejects %s', (_, input) => {
    expect(() => derToJose(input, 32)).toThrow(/malformed DER/);
  });
});
