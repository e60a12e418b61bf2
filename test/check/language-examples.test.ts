import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { tempFiles } from '../helpers/check.js';

// The two examples of the language's definition (LANGUAGE.md, "Shape of a file"), verbatim:
// they must parse and check as written, and mean what the definition says.
const resnet50 = `# ResNet-50 as torchvision builds it ("v1.5": the stride sits on the 3x3)
model resnet50 {
  input 3x224x224
  classes 1000

  stem {
    conv 7x7 64 stride 2
    maxpool 3x3 stride 2
  }

  block bottleneck          # expansion 4 unless set
  shortcut B                # projection where the shape changes

  stage conv2 { blocks 3  width 64 }
  stage conv3 { blocks 4  width 128  stride 2 }
  stage conv4 { blocks 6  width 256  stride 2 }
  stage conv5 { blocks 3  width 512  stride 2 }

  expect params 25_557_032
  expect macs 4.09G
}
`;

const resnet101 = `import "resnet50.resnet"

model resnet101 extends resnet50 {
  stage conv4 { blocks 23 }
  expect params 44_549_160
}
`;

describe("the language definition's examples", () => {
  const dir = tempFiles({ 'resnet50.resnet': resnet50, 'resnet101.resnet': resnet101 });
  const ws = new Workspace();

  it('resnet50 checks clean, its expect lines holding', () => {
    const file = ws.check(join(dir, 'resnet50.resnet'))!;
    expect(file.diagnostics).toEqual([]);
    expect(file.models[0]!.expects.map((e) => [e.what, e.ok])).toEqual([
      ['params', true],
      ['macs', true],
    ]);
  });

  it('resnet101 extends it across files and checks clean', () => {
    const file = ws.check(join(dir, 'resnet101.resnet'))!;
    expect(file.diagnostics).toEqual([]);
    const m = file.models[0]!;
    expect(m.totals.params).toBe(44_549_160);
    expect(m.stages.map((s) => s.depth)).toEqual([3, 4, 23, 3]);
  });
});
