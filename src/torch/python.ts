import { basename } from 'node:path';
import type { Block, BlockKind, CheckedModel, ConvLayer, GlobalPoolKind, Layer, ModelOutput, PoolLayer, Stage } from '../model/types.js';
import { blockNames, finalNormPath, headPath, stagePath, stemPaths, torchLayout, type BlockNames, type TorchLayout } from '../weights/torch-names.js';
import { shapeText } from '../model/shape-text.js';

/**
 * The PyTorch target: a checked model as a self-contained Python module that imports only
 * torch. `build()` returns the nn.Module; one class per block kind the model uses, stages as
 * nn.Sequential, a header comment with the spec's name, counts and the resnetc version.
 * Module names come from the naming table (src/weights/torch-names.ts), so torchvision's and
 * timm's state_dicts, and `resnetc compile --target safetensors`, load with strict=True.
 *
 * Everything the generated code computes is written from the checked model's layers (widths,
 * strides, groups, SE channels, which blocks have which shortcut), never decided again in
 * Python. The output is formatted for flake8's defaults (79 columns, PEP 8).
 *
 * `act()` and `norm()` are the one place the model's activation and norm are made; `conv()`
 * takes every convolution's arguments (dilation, and padding where it is not the default).
 * Drop path is timm's DropPath with each block's own rate; the head's pool is timm's
 * SelectAdaptivePool2d's kind. A model with `outputs` returns a dict of its outputs in the
 * order written (torchvision's IntermediateLayerGetter's), keyed by their names.
 */

export interface PythonOptions {
  /** resnetc's version, for the header. */
  version: string;
}

// ---------------------------------------------------------------------------------------
// Python expressions, printed flat where they fit, else with their arguments packed under the call.

type Py = string | Call | Repeat;

interface Call {
  fn: string;
  args: Py[];
  kwargs?: [string, Py][];
}

/** `*(block for VARIABLE in OVER)`: a stage's blocks after the first (`_` in `range(n)`, or `p` in a tuple of drop path rates). */
interface Repeat {
  repeat: Py;
  variable: string;
  over: Py;
}

const width = 79;

function call(fn: string, args: Py[], kwargs: [string, Py | undefined][] = []): Call {
  return { fn, args, kwargs: kwargs.filter((k): k is [string, Py] => k[1] !== undefined) };
}

function flat(e: Py): string {
  if (typeof e === 'string') return e;
  if ('repeat' in e) return `*(${flat(e.repeat)} for ${e.variable} in ${flat(e.over)})`;
  return `${e.fn}(${[...e.args.map(flat), ...(e.kwargs ?? []).map(([k, v]) => `${k}=${flat(v)}`)].join(', ')})`;
}

/**
 * `prefix + e + suffix` at `indent`, as lines: flat where it fits, else the arguments
 * packed into lines under the call, and an argument that fits no line broken the same way.
 */
function lines(e: Py, indent: number, prefix = '', suffix = ''): string[] {
  const pad = ' '.repeat(indent);
  const one = `${pad}${prefix}${flat(e)}${suffix}`;
  if (one.length <= width || typeof e === 'string') return [one];
  if ('repeat' in e) return [`${pad}${prefix}*(`, ...lines(e.repeat, indent + 4), ...lines(e.over, indent + 4, `for ${e.variable} in `), `${pad})${suffix}`];
  const inner = ' '.repeat(indent + 4);
  const args: [string, Py][] = [...e.args.map((a): [string, Py] => ['', a]), ...(e.kwargs ?? []).map(([k, v]): [string, Py] => [`${k}=`, v])];
  const out = [`${pad}${prefix}${e.fn}(`];
  let line = '';
  for (const [key, value] of args) {
    const text = `${key}${flat(value)},`;
    if (line && inner.length + line.length + 1 + text.length <= width) line += ` ${text}`;
    else {
      if (line) out.push(inner + line);
      line = '';
      if (inner.length + text.length <= width) line = text;
      else out.push(...lines(value, indent + 4, key, ','));
    }
  }
  if (line) out.push(inner + line);
  out.push(`${pad})${suffix}`);
  return out;
}

/**
 * Text as lines of at most 79 columns at `indent`, each beginning with `lead` (`# ` for a
 * comment): words that do not fit go to the next line; a word longer than a line stands
 * alone (pycodestyle accepts a comment of one long word, as it does a URL).
 */
function wrap(text: string, indent: number, lead = ''): string[] {
  const pad = ' '.repeat(indent) + lead;
  const out: string[] = [];
  let line = '';
  for (const word of text.replace(/[^\x20-\x7e]/g, '?').split(' ').filter(Boolean)) {
    if (line && pad.length + line.length + 1 + word.length > width) {
      out.push(pad + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(pad + line);
  return out;
}

function pyNumber(v: number): string {
  const s = v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function pyString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `NAME = 'value'`; the string in parts, one a line in parentheses, where one line would pass 79 columns. */
function pyConstant(name: string, value: string): string[] {
  const line = `${name} = ${pyString(value)}`;
  if (line.length <= width) return [line];
  const parts = value.match(new RegExp(`.{1,${width - 6}}`, 'g'))!;
  return [`${name} = (`, ...parts.map((p) => `    ${pyString(p)}`), ')'];
}

/** An int, or an (h, w) pair where they differ. */
function pair(h: number, w: number): string {
  return h === w ? String(h) : `(${h}, ${w})`;
}

function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------
// What the model uses: decides which helpers and classes are written.

const blockClass: Record<BlockKind, string> = {
  basic: 'BasicBlock',
  bottleneck: 'Bottleneck',
  'preact-basic': 'PreActBasic',
  'preact-bottleneck': 'PreActBottleneck',
};

interface Features {
  se: boolean;
  strideOn1x1: boolean;
  zeroPad: boolean;
  projection: boolean;
  /** A 3x3 convolution with a dilation over 1. */
  dilation: boolean;
  /** A rate of drop path over 0. */
  dropPath: boolean;
}

interface Usage {
  layout: TorchLayout;
  names: BlockNames;
  /** Per block kind used, in order of first use: what its class must offer. */
  kinds: Map<BlockKind, Features>;
  se: boolean;
  zeroPad: boolean;
  projection: boolean;
  avgProjection: boolean;
  dropPath: boolean;
  /** The head's global pool, if any. */
  pool: GlobalPoolKind | undefined;
  /** The outputs, when the model lists them (`outputs`); undefined for the one default output. */
  outputs: ModelOutput[] | undefined;
}

/** The outputs the model lists, or undefined when it has the one default output (`output`: the forward pass returns a tensor). */
function listedOutputs(model: CheckedModel): ModelOutput[] | undefined {
  const [only, ...rest] = model.outputs;
  return rest.length === 0 && only?.name === 'output' ? undefined : model.outputs;
}

function usage(model: CheckedModel): Usage {
  const layout = torchLayout(model);
  const pool = model.head?.layers.find((l) => l.op === 'global_pool');
  const u: Usage = {
    layout,
    names: blockNames(layout),
    kinds: new Map(),
    se: false,
    zeroPad: false,
    projection: false,
    avgProjection: false,
    dropPath: false,
    pool: pool?.op === 'global_pool' ? pool.kind : undefined,
    outputs: listedOutputs(model),
  };
  for (const stage of model.stages) {
    // Every block after the second is built as the second is (the checker's LazyStage), but for its drop path rate.
    for (const block of stage.blocks.slice(0, 2)) {
      const k = u.kinds.get(block.kind) ?? { se: false, strideOn1x1: false, zeroPad: false, projection: false, dilation: false, dropPath: false };
      u.kinds.set(block.kind, k);
      const se = block.branch.some((l) => l.op === 'se');
      k.se ||= se;
      u.se ||= se;
      k.strideOn1x1 ||= strideOn1x1(block);
      k.dilation ||= convsOf(block).some((c) => c.dilation > 1);
      k.dropPath ||= block.dropPath > 0;
      u.dropPath ||= block.dropPath > 0;
      if (block.shortcut.kind === 'subsample_pad') k.zeroPad = u.zeroPad = true;
      if (block.shortcut.kind === 'projection') {
        k.projection = true;
        if (block.shortcut.option === 'D') u.avgProjection = true;
        else u.projection = true;
      }
    }
  }
  return u;
}

function convsOf(block: Block): ConvLayer[] {
  return block.branch.filter((l) => l.op === 'conv');
}

/**
 * The padding `conv()` gives a convolution unless told: dilation x (K / 2) on each side, as
 * [top, left, bottom, right]. A layer padded otherwise passes its own (a stem's `pad`); one
 * padded unevenly has no Conv2d (an internal error: the language has no such convolution).
 */
function convPadding(l: ConvLayer): string | undefined {
  const [top, left, bottom, right] = l.padding;
  if (top !== bottom || left !== right) throw new Error(`internal: the PyTorch target has no uneven padding (${l.name}: ${l.padding.join(', ')})`);
  return top === l.dilation * Math.floor(l.kernel[0] / 2) && left === l.dilation * Math.floor(l.kernel[1] / 2) ? undefined : pair(top, left);
}

/** A bottleneck block whose stride sits on its first 1x1 convolution (stride_on 1x1). */
function strideOn1x1(block: Block): boolean {
  const first = convsOf(block)[0];
  return block.kind.endsWith('bottleneck') && first?.op === 'conv' && first.stride > 1;
}

// ---------------------------------------------------------------------------------------
// The module's text, part by part.

function header(model: CheckedModel, u: Usage, o: PythonOptions): string[] {
  const t = model.totals;
  const input = shapeText(model.input);
  const out = u.outputs
    ? `a dict of ${u.outputs.map((x) => `${x.name} (${shapeText(x.shape)})`).join(', ')}`
    : model.head
      ? `${model.classes} classes`
      : `the feature map ${shapeText(model.output)}`;
  const names = model.preactivation ? "timm's ResNetV2's" : "torchvision's (timm's where torchvision has none)";
  return [
    ...wrap(`${model.name}: compiled by resnetc ${o.version} from ${basename(model.origin.file)}. Compile the spec again rather than edit this file.`, 0, '# '),
    ...wrap(`${grouped(t.params)} parameters, ${grouped(t.buffers)} buffers (norm running statistics), ${grouped(t.macs)} MACs for one ${input} image; outputs ${out}.`, 0, '# '),
    ...wrap(`"""${model.name} as a PyTorch module: \`build()\` returns it.`, 0),
    '',
    `Module names are ${names},`,
    "so that their state_dicts, and `resnetc compile --target safetensors`, load",
    'into it with load_state_dict(strict=True).',
    '"""',
  ];
}

function helpers(model: CheckedModel, u: Usage): string[] {
  const eps = pyNumber(model.norm.eps);
  const entries = (u.outputs ?? []).map((x) => `${pyString(x.name)}: (${x.shape.c}, ${x.shape.h}, ${x.shape.w})`);
  const flatOutputs = `OUTPUTS = {${entries.join(', ')}}`;
  const outputs = u.outputs
    ? [
        '# What forward() returns, a dict in this order: name -> (channels, height,',
        '# width) for an INPUT-sized image.',
        ...(flatOutputs.length <= width ? [flatOutputs] : ['OUTPUTS = {', ...entries.map((e) => `    ${e},`), '}']),
      ]
    : [];
  const norm =
    model.norm.kind === 'group'
      ? [
          `    """Group norm, ${model.norm.groups} groups: a scale and shift per channel,`,
          '    no running statistics."""',
          `    return nn.GroupNorm(${model.norm.groups}, channels, eps=${eps})`,
        ]
      : [
          '    """Batch norm; momentum as PyTorch\'s (the weight of the new batch)."""',
          `    return nn.BatchNorm2d(channels, eps=${eps}, momentum=${pyNumber(model.norm.momentum)})`,
        ];
  return [
    ...pyConstant('NAME', model.name),
    `INPUT = (${model.input.c}, ${model.input.h}, ${model.input.w})`,
    `CLASSES = ${model.head ? model.classes : 'None'}`,
    ...outputs,
    '',
    '',
    'def conv(in_channels, out_channels, kernel, stride=1, groups=1, dilation=1,',
    '         padding=None):',
    '    """A convolution without bias, padded by dilation * (kernel // 2) on',
    '    each side unless `padding` is given."""',
    '    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel',
    '    if padding is None:',
    '        padding = (dilation * (kh // 2), dilation * (kw // 2))',
    '    return nn.Conv2d(',
    '        in_channels, out_channels, (kh, kw), stride=stride,',
    '        padding=padding, dilation=dilation, groups=groups, bias=False)',
    '',
    '',
    'def norm(channels):',
    ...norm,
    '',
    '',
    'def act():',
    `    """The activation: ${activationDoc[model.activation.fn]}."""`,
    `    return ${activationModule(model)}`,
  ];
}

const activationDoc: Record<CheckedModel['activation']['fn'], string> = {
  relu: 'ReLU',
  silu: 'SiLU, x * sigmoid(x)',
  gelu: 'GELU, exact (x * Phi(x) with erf)',
  leaky_relu: 'LeakyReLU',
  mish: 'Mish, x * tanh(softplus(x))',
};

/** PyTorch's module for the model's activation (in place where PyTorch offers it, as timm makes them). */
function activationModule(model: CheckedModel): string {
  const { fn, negativeSlope } = model.activation;
  switch (fn) {
    case 'relu':
      return 'nn.ReLU(inplace=True)';
    case 'silu':
      return 'nn.SiLU(inplace=True)';
    case 'gelu':
      return 'nn.GELU()';
    case 'leaky_relu':
      return `nn.LeakyReLU(${pyNumber(negativeSlope)}, inplace=True)`;
    case 'mish':
      return 'nn.Mish(inplace=True)';
  }
}

function squeezeExcite(u: Usage): string[] {
  const n = u.names;
  return [
    'class SqueezeExcite(nn.Module):',
    '    """Squeeze-and-excitation (timm\'s SEModule): global average pool,',
    '    1x1 conv with bias, act, 1x1 conv with bias, sigmoid, scale."""',
    '',
    '    def __init__(self, channels, squeezed):',
    '        super().__init__()',
    `        self.${n.seReduce} = nn.Conv2d(channels, squeezed, 1)`,
    `        self.${n.seAct} = act()`,
    `        self.${n.seExpand} = nn.Conv2d(squeezed, channels, 1)`,
    '',
    '    def forward(self, x):',
    '        s = x.mean((2, 3), keepdim=True)',
    `        s = self.${n.seExpand}(self.${n.seAct}(self.${n.seReduce}(s)))`,
    '        return x * torch.sigmoid(s)',
  ];
}

function dropPath(): string[] {
  return [
    'class DropPath(nn.Module):',
    '    """Stochastic depth (timm\'s DropPath): while training, each example\'s',
    '    residual branch is dropped with probability drop_prob and kept ones',
    '    are scaled by 1 / (1 - drop_prob); the identity in eval mode."""',
    '',
    '    def __init__(self, drop_prob):',
    '        super().__init__()',
    '        self.drop_prob = drop_prob',
    '',
    '    def forward(self, x):',
    '        if self.drop_prob == 0.0 or not self.training:',
    '            return x',
    '        keep = 1.0 - self.drop_prob',
    '        shape = (x.shape[0],) + (1,) * (x.ndim - 1)',
    '        mask = x.new_empty(shape).bernoulli_(keep)',
    '        if keep > 0.0:',
    '            mask.div_(keep)',
    '        return x * mask',
    '',
    '    def extra_repr(self):',
    "        return f'drop_prob={self.drop_prob}'",
  ];
}

/** The head's global pool: PyTorch's adaptive pools, or a class for timm's SelectAdaptivePool2d kinds that PyTorch has no module for. */
function globalPoolExpr(kind: GlobalPoolKind): string {
  return { avg: 'nn.AdaptiveAvgPool2d(1)', max: 'nn.AdaptiveMaxPool2d(1)', avgmax: 'AvgMaxPool()', catavgmax: 'CatAvgMaxPool()' }[kind];
}

function globalPoolClass(kind: GlobalPoolKind): string[] {
  if (kind !== 'avgmax' && kind !== 'catavgmax') return [];
  const cat = kind === 'catavgmax';
  return [
    `class ${cat ? 'CatAvgMaxPool' : 'AvgMaxPool'}(nn.Module):`,
    ...(cat
      ? ['    """timm\'s SelectAdaptivePool2d(\'catavgmax\'): the global average and', '    max pools concatenated along channels, the average\'s first."""']
      : ['    """timm\'s SelectAdaptivePool2d(\'avgmax\'): the mean of the global', '    average and max pools."""']),
    '',
    '    def forward(self, x):',
    '        x_avg = nn.functional.adaptive_avg_pool2d(x, 1)',
    '        x_max = nn.functional.adaptive_max_pool2d(x, 1)',
    cat ? '        return torch.cat((x_avg, x_max), 1)' : '        return 0.5 * (x_avg + x_max)',
  ];
}

function zeroPadShortcut(): string[] {
  return [
    'class ZeroPadShortcut(nn.Module):',
    '    """Shortcut A: rows and columns 0, s, 2s, ... of the input, then zero',
    '    channels appended after the input\'s; no parameters."""',
    '',
    '    def __init__(self, extra_channels, stride):',
    '        super().__init__()',
    '        self.extra_channels = extra_channels',
    '        self.stride = stride',
    '',
    '    def forward(self, x):',
    '        x = x[:, :, ::self.stride, ::self.stride]',
    '        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))',
  ];
}

const avgPool = call('nn.AvgPool2d', ['2', 'stride'], [
  ['ceil_mode', 'True'],
  ['count_include_pad', 'False'],
]);

/** Projection shortcuts: torchvision's downsample Sequential (timm's downsample_avg for D), or ResNetV2's DownsampleConv / DownsampleAvg. */
function projections(u: Usage): string[][] {
  const n = u.names;
  const out: string[][] = [];
  if (u.layout === 'torchvision') {
    // The Sequential's positions are the naming table's indices; nn.Identity fills a gap.
    const sequential = (option: 'B' | 'D', parts: Partial<Record<'pool' | 'conv' | 'norm', string>>): string[] => {
      const slots: string[] = [];
      for (const [part, expr] of Object.entries(parts)) slots[Number(n.shortcutPart(option, part as 'pool' | 'conv' | 'norm'))] = expr;
      return Array.from(slots, (s) => s ?? 'nn.Identity()');
    };
    if (u.projection) {
      out.push([
        'def projection(in_channels, out_channels, stride=1):',
        '    """Shortcuts B and C: a 1x1 convolution (stride) and a norm."""',
        ...lines(call('nn.Sequential', sequential('B', { conv: 'conv(in_channels, out_channels, 1, stride=stride)', norm: 'norm(out_channels)' })), 4, 'return '),
      ]);
    }
    if (u.avgProjection) {
      out.push([
        'def avg_projection(in_channels, out_channels, stride=1):',
        '    """Shortcut D: a 2x2 average pool (stride; ceil mode, padding not',
        '    counted), a 1x1 convolution and a norm; at stride 1 an nn.Identity',
        '    holds the pool\'s place, as in timm."""',
        '    pool = nn.Identity()',
        '    if stride > 1:',
        ...lines(avgPool, 8, 'pool = '),
        ...lines(call('nn.Sequential', sequential('D', { pool: 'pool', conv: 'conv(in_channels, out_channels, 1)', norm: 'norm(out_channels)' })), 4, 'return '),
      ]);
    }
    return out;
  }
  const conv = n.shortcutPart('B', 'conv');
  const pool = n.shortcutPart('D', 'pool');
  if (u.projection) {
    out.push([
      'class Projection(nn.Module):',
      '    """Shortcuts B and C of a pre-activation block: a 1x1 convolution',
      '    (stride) of the pre-activated input, without a norm."""',
      '',
      '    def __init__(self, in_channels, out_channels, stride=1):',
      '        super().__init__()',
      `        self.${conv} = conv(in_channels, out_channels, 1, stride=stride)`,
      '',
      '    def forward(self, x):',
      `        return self.${conv}(x)`,
    ]);
  }
  if (u.avgProjection) {
    out.push([
      'class AvgProjection(nn.Module):',
      '    """Shortcut D of a pre-activation block: a 2x2 average pool (stride;',
      '    ceil mode, padding not counted; nn.Identity at stride 1) and a 1x1',
      '    convolution of the pre-activated input, without a norm."""',
      '',
      '    def __init__(self, in_channels, out_channels, stride=1):',
      '        super().__init__()',
      `        self.${pool} = nn.Identity()`,
      '        if stride > 1:',
      ...lines(avgPool, 12, `self.${pool} = `),
      `        self.${conv} = conv(in_channels, out_channels, 1)`,
      '',
      '    def forward(self, x):',
      `        return self.${conv}(self.${pool}(x))`,
    ]);
  }
  return out;
}

const blockDoc: Record<BlockKind, string[]> = {
  basic: ['conv 3x3 (stride), norm, act, conv 3x3, norm; add the shortcut; act.'],
  bottleneck: ['conv 1x1, norm, act, conv 3x3 (stride, groups), norm, act,', 'conv 1x1, norm; add the shortcut; act.'],
  'preact-basic': ['norm, act, conv 3x3 (stride), norm, act, conv 3x3; add the', 'shortcut (a projection reads the pre-activated input).'],
  'preact-bottleneck': ['norm, act, conv 1x1, norm, act, conv 3x3 (stride, groups), norm,', 'act, conv 1x1; add the shortcut (a projection reads the', 'pre-activated input).'],
};

/** One block kind's class: its layers under the naming table's names, its forward pass, and zero_init_last. */
function blockClassLines(kind: BlockKind, features: Features, u: Usage): string[] {
  const n = u.names;
  const bottleneck = kind.endsWith('bottleneck');
  const preact = kind.startsWith('preact-');
  const params = ['in_channels', 'width', 'out_channels', 'stride=1'];
  if (bottleneck) params.push('groups=1');
  if (features.strideOn1x1) params.push("stride_on='3x3'");
  if (features.se) params.push('se_channels=0');
  // timm's dilation and first_dilation: a basic block's first 3x3 takes first_dilation.
  if (features.dilation) params.push(...(bottleneck ? ['dilation=1'] : ['dilation=1', 'first_dilation=None']));
  if (features.dropPath) params.push('drop_path=0.0');
  params.push('downsample=None');
  const init: string[] = [];
  if (features.dilation && !bottleneck) init.push('first_dilation = first_dilation or dilation');
  // Which convolution takes the stride: the 3x3 (or a basic block's first), or the 1x1 with stride_on.
  const strided = bottleneck ? 2 : 1;
  if (features.strideOn1x1) init.push("stride1, stride2 = (stride, 1) if stride_on == '1x1' else (1, stride)");
  const convStride = (k: number): string | undefined => (features.strideOn1x1 ? (k <= 2 ? `stride${k}` : undefined) : k === strided ? 'stride' : undefined);
  const convs = bottleneck
    ? [
        ['in_channels', 'width', '1'],
        ['width', 'width', '3'],
        ['width', 'out_channels', '1'],
      ]
    : [
        ['in_channels', 'width', '3'],
        ['width', 'out_channels', '3'],
      ];
  const dilation = (i: number): string | undefined => (!features.dilation || convs[i]![2] !== '3' ? undefined : !bottleneck && i === 0 ? 'first_dilation' : 'dilation');
  convs.forEach(([cin, cout, k], i) => {
    const groups = bottleneck && i === 1 ? 'groups' : undefined;
    if (preact) init.push(`self.${n.norm(i + 1)} = norm(${cin})`);
    const kw: [string, Py | undefined][] = [
      ['stride', convStride(i + 1)],
      ['groups', groups],
      ['dilation', dilation(i)],
    ];
    init.push(...lines(call('conv', [cin!, cout!, k!], kw), 8, `self.${n.conv(i + 1)} = `).map((l) => l.slice(8)));
    if (!preact) init.push(`self.${n.norm(i + 1)} = norm(${cout})`);
  });
  if (features.se) {
    init.push(`self.${n.se} = None`, 'if se_channels:', `    self.${n.se} = SqueezeExcite(out_channels, se_channels)`);
  }
  if (features.dropPath) init.push('self.drop_path = DropPath(drop_path) if drop_path else None');
  init.push(`self.${n.shortcut} = downsample`, 'self.act = act()');

  const forward: string[] = [];
  const last = convs.length;
  const ds = `self.${n.shortcut}`;
  if (preact) {
    forward.push(`x_preact = self.act(self.${n.norm(1)}(x))`);
    // A projection reads the pre-activated input; identity and shortcut A the raw input.
    if (features.projection && features.zeroPad) {
      forward.push('shortcut = x', `if isinstance(${ds}, ZeroPadShortcut):`, `    shortcut = ${ds}(x)`, `elif ${ds} is not None:`, `    shortcut = ${ds}(x_preact)`);
    } else forward.push(`shortcut = x if ${ds} is None else ${ds}(${features.projection ? 'x_preact' : 'x'})`);
    forward.push(`out = self.${n.conv(1)}(x_preact)`);
    for (let k = 2; k <= last; k++) forward.push(`out = self.${n.conv(k)}(self.act(self.${n.norm(k)}(out)))`);
  } else {
    forward.push(`shortcut = x if ${ds} is None else ${ds}(x)`);
    forward.push(`out = self.act(self.${n.norm(1)}(self.${n.conv(1)}(x)))`);
    for (let k = 2; k < last; k++) forward.push(`out = self.act(self.${n.norm(k)}(self.${n.conv(k)}(out)))`);
    forward.push(`out = self.${n.norm(last)}(self.${n.conv(last)}(out))`);
  }
  if (features.se) forward.push(`if self.${n.se} is not None:`, `    out = self.${n.se}(out)`);
  if (features.dropPath) forward.push('if self.drop_path is not None:', '    out = self.drop_path(out)');
  forward.push(preact ? 'return out + shortcut' : 'return self.act(out + shortcut)');

  const zeroed = preact ? n.conv(last) : n.norm(last);
  return [
    `class ${blockClass[kind]}(nn.Module):`,
    ...blockDoc[kind].map((l, i, all) => `    ${i === 0 ? '"""' : ''}${l}${i === all.length - 1 ? '"""' : ''}`),
    '',
    ...lines(call('def __init__', ['self', ...params]), 4, '', ':'),
    '        super().__init__()',
    ...init.map((l) => `        ${l}`),
    '',
    '    def forward(self, x):',
    ...forward.map((l) => `        ${l}`),
    '',
    '    def zero_init_last(self):',
    `        """Start the residual branch at zero: its last ${preact ? 'convolution' : 'norm scale'} 0."""`,
    `        nn.init.zeros_(self.${zeroed}.weight)`,
  ];
}

function stageClass(inner: string): string[] {
  return [
    'class Stage(nn.Module):',
    `    """A stage of timm's ResNetV2: its blocks in order, as \`${inner}\`."""`,
    '',
    '    def __init__(self, *blocks):',
    '        super().__init__()',
    `        self.${inner} = nn.Sequential(*blocks)`,
    '',
    '    def forward(self, x):',
    `        return self.${inner}(x)`,
  ];
}

/**
 * The expression that builds one block of the stage, from the checked block's layers;
 * `dropPath` names the variable that holds its rate where the call is repeated.
 */
function blockCall(block: Block, u: Usage, dropPath?: string): Call {
  const convs = convsOf(block);
  for (const c of convs) if (convPadding(c) !== undefined) throw new Error(`internal: ${c.name} is not padded by dilation x (K / 2)`);
  // The 3x3 convolutions' dilations: a bottleneck's one, a basic block's two (timm's first_dilation, dilation).
  const dilations = convs.filter((c) => c.kernel[0] === 3).map((c) => c.dilation);
  const last = dilations[dilations.length - 1] ?? 1;
  const se = block.branch.find((l) => l.op === 'se');
  const s = block.stride;
  let downsample: Py | undefined;
  if (block.shortcut.kind === 'subsample_pad') downsample = call('ZeroPadShortcut', [String(block.out.c - block.in.c), String(s)]);
  else if (block.shortcut.kind === 'projection') {
    const torchvision = u.layout === 'torchvision';
    const fn = block.shortcut.option === 'D' ? (torchvision ? 'avg_projection' : 'AvgProjection') : torchvision ? 'projection' : 'Projection';
    downsample = call(fn, [String(block.in.c), String(block.out.c)], [['stride', s > 1 ? String(s) : undefined]]);
  }
  const kw: [string, Py | undefined][] = [
    ['stride', s > 1 ? String(s) : undefined],
    ['groups', block.groups > 1 ? String(block.groups) : undefined],
    ['stride_on', s > 1 && strideOn1x1(block) ? "'1x1'" : undefined],
    ['se_channels', se?.op === 'se' ? String(se.reduce.out.c) : undefined],
    ['dilation', last > 1 ? String(last) : undefined],
    ['first_dilation', dilations.length > 1 && dilations[0] !== last ? String(dilations[0]) : undefined],
    ['drop_path', dropPath ?? (block.dropPath > 0 ? pyNumber(block.dropPath) : undefined)],
    ['downsample', downsample],
  ];
  return call(blockClass[block.kind], [String(block.in.c), String(convs[0]!.out.c), String(block.out.c)], kw);
}

/**
 * The stage's blocks: the first, then the second repeated (every later block is built alike),
 * over the later blocks' drop path rates where they have one.
 */
function stageBlocks(stage: Stage, u: Usage): Py[] {
  const [first, second] = stage.blocks;
  const out: Py[] = [blockCall(first!, u)];
  if (!second) return out;
  if (stage.depth === 2) out.push(blockCall(second, u));
  else if (second.dropPath > 0) out.push({ repeat: blockCall(second, u, 'p'), variable: 'p', over: call('', stage.blocks.slice(1).map((b) => pyNumber(b.dropPath))) });
  else out.push({ repeat: blockCall(second, u), variable: '_', over: `range(${stage.depth - 1})` });
  return out;
}

function stageComment(stage: Stage, indent: number): string[] {
  const kind = stage.kind.replace('preact-', 'pre-activation ');
  const dilation = stage.dilation > 1 ? `, dilation ${stage.dilation}` : '';
  return wrap(`${stage.name}: ${stage.depth} ${kind} block${stage.depth > 1 ? 's' : ''}, ${stage.in.c} -> ${stage.out.c} channels, ${stage.out.h}x${stage.out.w}${dilation}`, indent, '# ');
}

function poolExpr(l: PoolLayer): Call {
  const [pt, pl, pb, pr] = l.padding;
  if (pt !== pb || pl !== pr) throw new Error(`internal: the PyTorch target has no uneven padding (${l.name}: ${l.padding.join(', ')})`);
  const k = pair(l.kernel[0], l.kernel[1]);
  const kw: [string, string | undefined][] = [
    ['stride', String(l.stride)],
    ['padding', pt === 0 && pl === 0 ? undefined : pair(pt, pl)],
    ['ceil_mode', l.ceilMode ? 'True' : undefined],
  ];
  return l.op === 'maxpool' ? call('nn.MaxPool2d', [k], kw) : call('nn.AvgPool2d', [k], [...kw, ['count_include_pad', l.countIncludePad ? 'True' : 'False']]);
}

function stemExpr(l: Layer): Py {
  switch (l.op) {
    case 'conv':
      return call('conv', [String(l.in.c), String(l.out.c), pair(l.kernel[0], l.kernel[1])], [
        ['stride', l.stride > 1 ? String(l.stride) : undefined],
        ['groups', l.groups > 1 ? String(l.groups) : undefined],
        ['dilation', l.dilation > 1 ? String(l.dilation) : undefined],
        ['padding', convPadding(l)],
      ]);
    case 'norm':
      return `norm(${l.in.c})`;
    case 'act':
      return 'act()';
    case 'maxpool':
    case 'avgpool':
      return poolExpr(l);
    default:
      throw new Error(`internal: a stem has a ${l.op} layer (${l.name})`);
  }
}

/**
 * Attributes of the model made of layers whose paths share a first name: one module
 * (`bn1`), a Sequential by position (`conv1.0`, `conv1.1`, …) or by name (`stem.conv`).
 */
function groupedAssignments(items: { path: string; expr: Py }[]): { attribute: string; lines: string[] }[] {
  const groups: { attribute: string; children: { child: string | undefined; expr: Py }[] }[] = [];
  for (const { path, expr } of items) {
    const [head, ...rest] = path.split('.');
    const child = rest.length > 0 ? rest.join('.') : undefined;
    const g = groups[groups.length - 1];
    if (g && g.attribute === head) g.children.push({ child, expr });
    else groups.push({ attribute: head!, children: [{ child, expr }] });
  }
  return groups.map(({ attribute, children }) => {
    if (children.length === 1 && children[0]!.child === undefined) return { attribute, lines: lines(children[0]!.expr, 8, `self.${attribute} = `) };
    if (children.every((c, i) => c.child === String(i))) return { attribute, lines: lines(call('nn.Sequential', children.map((c) => c.expr)), 8, `self.${attribute} = `) };
    return { attribute, lines: [`        self.${attribute} = nn.Sequential()`, ...children.flatMap((c) => lines(call(`self.${attribute}.add_module`, [pyString(c.child!), c.expr]), 8))] };
  });
}

function modelClass(model: CheckedModel, u: Usage): string[] {
  const init: string[] = [];
  const forward: string[] = u.outputs ? ['out = {}'] : [];
  // `out[NAME] = x` where the model lists an output.
  const tap = (source: ModelOutput['source'], stage?: number): void => {
    for (const o of u.outputs ?? []) if (o.source === source && o.stage === stage) forward.push(`out[${pyString(o.name)}] = x`);
  };
  // The stem, grouped by the naming table's paths.
  const stemItems = stemPaths(u.layout, model.stem).map((path, i) => ({ path, expr: stemExpr(model.stem[i]!) }));
  for (const g of groupedAssignments(stemItems)) {
    init.push(...g.lines);
    forward.push(`x = self.${g.attribute}(x)`);
  }
  tap('stem');
  // The stages: `layerN` attributes, or ResNetV2's `stages` Sequential of Stage modules
  // (run one by one where outputs are taken between them). A pre-activation model's last
  // stage's output is taken after the closing norm (timm's ResNetV2 features).
  const finalNorm = model.final.find((l) => l.op === 'norm');
  const finalLines = (): void => {
    if (finalNorm) forward.push(`x = self.act(self.${finalNormPath}(x))`);
  };
  const last = model.stages[model.stages.length - 1];
  const [container, , inner] = stagePath(u.layout, 0).split('.');
  if (inner === undefined) {
    for (const stage of model.stages) {
      init.push(...stageComment(stage, 8), ...lines(call('nn.Sequential', stageBlocks(stage, u)), 8, `self.${stagePath(u.layout, stage.index)} = `));
      forward.push(`x = self.${stagePath(u.layout, stage.index)}(x)`);
      if (stage === last) finalLines();
      tap('stage', stage.index);
    }
  } else {
    init.push(`        self.${container} = nn.Sequential(`);
    for (const stage of model.stages) init.push(...stageComment(stage, 12), ...lines(call('Stage', stageBlocks(stage, u)), 12, '', ','));
    init.push('        )');
    if (u.outputs?.some((o) => o.source === 'stage')) {
      for (const stage of model.stages) {
        forward.push(`x = self.${container}[${stage.index}](x)`);
        if (stage === last) finalLines();
        tap('stage', stage.index);
      }
    } else {
      if (model.stages.length > 0) forward.push(`x = self.${container}(x)`);
      finalLines();
    }
  }
  if (finalNorm) init.push(`        self.${finalNormPath} = norm(${finalNorm.in.c})`, '        self.act = act()');
  // The head: a global pool, dropout, and the classifier (nn.Linear, or ResNetV2's 1x1 conv).
  const head = model.head?.layers ?? [];
  const headItems = head.map((l) => {
    const path = headPath(u.layout, l);
    if (l.op === 'global_pool') return { path, expr: globalPoolExpr(l.kind) };
    if (l.op === 'dropout') return { path, expr: `nn.Dropout(${pyNumber(l.rate)})` };
    if (l.op === 'dense') return { path, expr: u.layout === 'torchvision' ? `nn.Linear(${l.in.c}, ${l.out.c})` : `nn.Conv2d(${l.in.c}, ${l.out.c}, 1)` };
    throw new Error(`internal: a head has a ${l.op} layer (${l.name})`);
  });
  const headGroups = groupedAssignments(headItems);
  for (const g of headGroups) init.push(...g.lines);
  if (u.layout === 'torchvision') {
    for (const g of headGroups) {
      const pool = g.attribute === headPath(u.layout, head[0]!);
      forward.push(pool ? `x = torch.flatten(self.${g.attribute}(x), 1)` : `x = self.${g.attribute}(x)`);
    }
  } else if (headGroups.length > 0) forward.push(`x = torch.flatten(self.${headGroups[0]!.attribute}(x), 1)`);
  if (model.head) tap('logits');
  forward.push(u.outputs ? 'return out' : 'return x');

  const headFc = head.find((l) => l.op === 'dense');
  const convHead = headFc && u.layout === 'resnetv2' ? headPath(u.layout, headFc) : undefined;
  return [
    'class ResNet(nn.Module):',
    '    """The model; `zero_init_residual` starts every residual branch at 0,',
    "    as torchvision's does.\"\"\"",
    '',
    '    def __init__(self, zero_init_residual=False):',
    '        super().__init__()',
    ...init,
    '        self.init_weights(zero_init_residual)',
    '',
    '    def forward(self, x):',
    ...forward.map((l) => `        ${l}`),
    '',
    '    def init_weights(self, zero_init_residual=False):',
    '        """torchvision\'s initialisation: convolutions Kaiming normal',
    "        (fan_out, relu), norms scale 1 and shift 0; biases and the",
    '        classifier keep PyTorch\'s default (uniform in +-1/sqrt(fan_in))."""',
    ...(convHead
      ? ['        for name, m in self.named_modules():', `            if isinstance(m, nn.Conv2d) and name != ${pyString(convHead)}:`]
      : ['        for m in self.modules():', '            if isinstance(m, nn.Conv2d):']),
    "                nn.init.kaiming_normal_(",
    "                    m.weight, mode='fan_out', nonlinearity='relu')",
    `            elif isinstance(m, nn.${model.norm.kind === 'group' ? 'GroupNorm' : 'BatchNorm2d'}):`,
    '                nn.init.ones_(m.weight)',
    '                nn.init.zeros_(m.bias)',
    '        if zero_init_residual:',
    '            for m in self.modules():',
    "                if hasattr(m, 'zero_init_last'):",
    '                    m.zero_init_last()',
  ];
}

/** The Python module for the model (see the module's docstring). */
export function emitPython(model: CheckedModel, options: PythonOptions): string {
  const u = usage(model);
  const parts: string[][] = [helpers(model, u)];
  if (u.se) parts.push(squeezeExcite(u));
  if (u.zeroPad) parts.push(zeroPadShortcut());
  if (u.dropPath) parts.push(dropPath());
  if (u.pool && globalPoolClass(u.pool).length > 0) parts.push(globalPoolClass(u.pool));
  parts.push(...projections(u));
  for (const [kind, features] of u.kinds) parts.push(blockClassLines(kind, features, u));
  const [, , inner] = stagePath(u.layout, 0).split('.');
  if (inner !== undefined) parts.push(stageClass(inner));
  parts.push(modelClass(model, u));
  parts.push(['def build(zero_init_residual=False):', ...wrap(`"""The ${model.name} module, initialised as torchvision initialises."""`, 4), '    return ResNet(zero_init_residual)']);
  const body = parts.map((p) => p.join('\n')).join('\n\n\n');
  const imports = [...(/\btorch\./.test(body) ? ['import torch'] : []), 'from torch import nn'];
  return [...header(model, u, options), ...imports, '', '', body, ''].join('\n');
}
