import { describe, expect, it } from 'vitest';
import { diagramOf, maxDrawnStages } from '../../src/graph/diagram.js';
import { modelSvg } from '../../src/graph/svg.js';
import { manyStages } from '../faults/hostile.js';
import { model } from '../helpers/check.js';

describe('the diagram of a model with more stages than are drawn', () => {
  it(`draws the first and last ${maxDrawnStages / 2} stages and one box for those between, with their parameters`, async () => {
    const tall = model(manyStages(1_000)); // ELK took some 10 s per 1,000 boxes
    const d = diagramOf(tall);
    const ids = d.boxes.map((b) => b.id);
    expect(ids.filter((id) => id.startsWith('stage:'))).toHaveLength(maxDrawnStages);
    expect(ids.slice(0, 3)).toEqual(['input', 'stem', 'stage:s0']);
    expect(ids.slice(17, 20)).toEqual(['stage:s15', 'more', 'stage:s984']);
    const more = d.boxes.find((b) => b.id === 'more')!;
    // Each hidden stage: one basic block at width 4, 2 x (3x3x4x4 weights + 8 norm values) = 304 parameters.
    expect(more.lines).toEqual(['… 968 more stages', `294.3K params (${((100 * 968 * 304) / tall.totals.params).toFixed(1)}%)`]);
    // Every box is linked to the next, whatever was left out.
    for (const [i, f] of d.flows.entries()) expect([f.from, f.to]).toEqual([ids[i], ids[i + 1]]);
    expect((await modelSvg(tall)).match(/<g class="box (?:stage|more)"/g)).toHaveLength(maxDrawnStages + 1);
  });
});
