import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ResyncMessageReader } from '../../src/lsp/framing.js';

/** A message as the base protocol frames it (RFC-style header, then UTF-8 JSON). */
function framed(message: object, declared?: number): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${declared ?? body.length}\r\n\r\n`, 'ascii'), body]);
}

const ping = (id: number): object => ({ jsonrpc: '2.0', id, method: 'ping' });

/** What a reader delivers for these bytes, fed in chunks of `chunk` bytes, and the problems it logged. */
function read(bytes: Buffer, chunk = bytes.length): { ids: unknown[]; problems: string[] } {
  const reader = new ResyncMessageReader(new PassThrough());
  const ids: unknown[] = [];
  const problems: string[] = [];
  reader.problems = (p) => problems.push(p);
  reader.listen((m) => ids.push((m as { id?: unknown }).id));
  for (let i = 0; i < bytes.length; i += chunk) reader.onData(bytes.subarray(i, i + chunk));
  return { ids, problems };
}

describe('the language server reads the base protocol so that bad framing never stops it', () => {
  it('reads well-framed messages in any chunking, a multi-byte text included', () => {
    const bytes = Buffer.concat([framed(ping(1)), framed({ jsonrpc: '2.0', id: 2, method: 'x', params: { text: 'é→😀' } }), framed(ping(3))]);
    for (const chunk of [1, 3, 7, 1000]) expect(read(bytes, chunk)).toEqual({ ids: [1, 2, 3], problems: [] });
  });

  it('takes a Content-Type before the length, and any case of the header name', () => {
    const body = JSON.stringify(ping(4));
    const bytes = Buffer.from(`Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    expect(read(bytes)).toEqual({ ids: [4], problems: [] });
  });

  const cases: [string, Buffer][] = [
    ['a header without Content-Length', Buffer.from('Content-Type: x\r\n\r\n{"jsonrpc":"2.0","id":98}')],
    ['a length that is not a number', Buffer.from('Content-Length: abc\r\n\r\n{}')],
    ['a body that is not JSON', Buffer.from('Content-Length: 5\r\n\r\n{abc}')],
    ['a body that is JSON but no object', Buffer.from('Content-Length: 4\r\n\r\nnull')],
    ['a length that overshoots', framed(ping(97), 500)],
    ['a length that falls short', framed(ping(96), 10)],
    ['a length over the limit', Buffer.from('Content-Length: 99999999999\r\n\r\n{}')],
    ['bytes that are no message', Buffer.from('hello\r\nworld\r\n\r\n')],
    ['a megabyte without a header', Buffer.alloc(1 << 20, 'x')],
  ];
  for (const [what, bad] of cases) {
    it(`reports ${what}, then reads the next message`, () => {
      for (const chunk of [5, 4096]) {
        const { ids, problems } = read(Buffer.concat([framed(ping(1)), bad, framed(ping(2)), framed(ping(3))]), chunk);
        expect(ids.filter((id) => typeof id === 'number' && id < 90)).toEqual([1, 2, 3]);
        expect(problems.length).toBeGreaterThan(0);
      }
    });
  }
});
