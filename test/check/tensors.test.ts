import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { layerTensors, tensorSize } from '../../src/model/tensors.js';
import { walkLayers } from '../../src/model/walk.js';
import { model, specsDir } from '../helpers/check.js';

describe('layer counts and layer tensors', () => {
  const models = readdirSync(specsDir)
    .filter((f) => f.endsWith('.resnet'))
    .flatMap((f) => new Workspace().check(join(specsDir, f))!.models);
  models.push(model('model se { input 3x32x32 stem { conv 3x3 16 } block preact-bottleneck { se 4 groups 2 width_per_group 32 } shortcut C stage s { blocks 2 width 16 stride 2 } classes 7 }'));

  it('agree for every layer of every model of the zoo: a count is the size of the tensors', () => {
    for (const m of models) {
      let params = 0;
      let buffers = 0;
      for (const { layer } of walkLayers(m)) {
        const tensors = layerTensors(layer);
        const trainable = tensors.filter((t) => t.trainable).reduce((s, t) => s + tensorSize(t.shape), 0);
        const state = tensors.filter((t) => !t.trainable).reduce((s, t) => s + tensorSize(t.shape), 0);
        expect(layer.params, layer.name).toBe(trainable);
        expect(layer.buffers, layer.name).toBe(state);
        params += trainable;
        buffers += state;
      }
      expect(m.totals.params, m.name).toBe(params);
      expect(m.totals.buffers, m.name).toBe(buffers);
    }
  });

  it('the lazily built blocks add up to the stage counts', () => {
    for (const m of models) {
      for (const s of m.stages) {
        expect(s.blocks).toHaveLength(s.depth);
        expect(s.blocks.reduce((sum, b) => sum + b.params, 0)).toBe(s.params);
        expect(s.blocks.reduce((sum, b) => sum + b.macs, 0)).toBe(s.macs);
        expect(s.blocks.map((b) => b.name)).toEqual(s.blocks.map((_, i) => `${s.name}.block${i}`));
      }
    }
  });
});
