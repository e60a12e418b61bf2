import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cli, root } from '../helpers/cli.js';
import { tempFiles } from '../helpers/check.js';

// ELK never fails on the diagrams resnetc draws; stand in a layout that does, to see what the user gets.
vi.mock('../../src/graph/svg.js', () => ({
  modelSvg: () => Promise.reject(new Error('org.eclipse.elk.core.UnsupportedGraphException: cycle')),
}));

describe('resnetc graph when the layout fails', () => {
  it("reports R0704 with the layout engine's message, and writes nothing", async () => {
    const out = join(tempFiles({}), 'g.svg');
    const r = await cli('graph', join(root, 'specs', 'resnet18.resnet'), '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error[R0704]: cannot lay out the diagram of 'resnet18': org.eclipse.elk.core.UnsupportedGraphException: cycle\n");
    expect(existsSync(out)).toBe(false);
  });
});
