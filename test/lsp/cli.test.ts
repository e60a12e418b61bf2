import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

describe('resnetc lsp', () => {
  it('asks for --stdio, the transport it speaks', async () => {
    const r = await cli('lsp');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('resnetc lsp --stdio');
  });
});
