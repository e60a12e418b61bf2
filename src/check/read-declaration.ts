import type { Code } from '../diagnostics/codes.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { ActivationSpec, BlockKind, GlobalPoolKind, NormSpec, Origin, Shape, ShortcutOption, Written } from '../model/types.js';
import type * as A from '../syntax/ast.js';
import type { BlockSpec, Located, Maybe, ModelDecl, OutputName, Reporter, StageDecl, StemLayerSpec } from './declaration.js';
import { groupDigits } from '../model/count-format.js';
import { keywordAt, meaning, optionsFor, spellings, strideOnWords } from '../syntax/vocabulary.js';
import { activations, blockExpansion, blockKinds, defaults, leakyReluSlope, normKinds, outputStrides, poolKinds, reservedStageNames, shortcutKinds } from './vocabulary.js';

/**
 * Bounds that keep a typo (`blocks 1000000`) from making the checker build a network no
 * machine could hold; far beyond any published ResNet.
 */
const limits = { value: 1_000_000, blocks: 10_000 };

/** Why an option of bottleneck blocks is refused on another kind: what to write instead. */
function notForKind(key: string, kind: BlockKind): string {
  if (key === 'stride_on') return 'stride_on picks which convolution of a bottleneck block takes the stride';
  if (key === 'groups' || key === 'width_per_group') {
    return `groups and width_per_group shape the 3x3 convolution of bottleneck blocks; for a wider ${kind} block, raise the stage's width`;
  }
  return `'${key}' applies to ${keywordAt('block', key)?.of?.join(', ')} blocks`;
}

/** Validates one model declaration's statements; reports what is wrong where it was written. */
export function readDeclaration(node: A.ModelNode, file: string, report: Reporter): ModelDecl | undefined {
  if (!node.name) return undefined;
  const r = new ValueReader(file, report);

  const decl: ModelDecl = {
    name: node.name.text,
    file,
    origin: r.at(node),
    nameNode: node.name,
    parent: node.extendsName,
    input: undefined,
    classes: undefined,
    dropout: undefined,
    stem: undefined,
    block: undefined,
    shortcut: undefined,
    norm: undefined,
    activation: undefined,
    outputStride: undefined,
    dropPath: undefined,
    pool: undefined,
    outputs: undefined,
    stages: [],
    expects: [],
  };

  const seen = new Map<string, Written>();
  const once = (key: string, node: Written): boolean => r.firstTime(seen, key, node, 'in this model');

  for (const s of node.statements) {
    switch (s.kind) {
      case 'input':
        if (once('input', s)) decl.input = r.located(r.inputShape(s.size), s);
        break;
      case 'classes':
        if (once('classes', s)) decl.classes = r.located(r.whole(s.value, 'classes', 1), s);
        break;
      case 'dropout':
        if (once('dropout', s)) decl.dropout = r.located(r.probability(s.value, 'dropout'), s);
        break;
      case 'stem':
        if (once('stem', s)) decl.stem = r.located(r.stem(s), s);
        break;
      case 'block':
        if (once('block', s)) decl.block = r.block(s);
        break;
      case 'shortcut':
        if (once('shortcut', s)) decl.shortcut = r.shortcut(s);
        break;
      case 'norm':
        if (once('norm', s)) decl.norm = r.norm(s);
        break;
      case 'activation':
        if (once('activation', s)) decl.activation = r.activation(s);
        break;
      case 'output_stride':
        if (once('output_stride', s)) decl.outputStride = r.located(r.outputStride(s.value), s);
        break;
      case 'drop_path':
        if (once('drop_path', s)) decl.dropPath = r.located(r.probability(s.value, 'drop_path'), s);
        break;
      case 'pool':
        if (once('pool', s)) decl.pool = r.pool(s);
        break;
      case 'outputs':
        if (once('outputs', s)) decl.outputs = r.outputs(s);
        break;
      case 'stage': {
        if (!s.name) break;
        if (!once(`stage ${s.name.text}`, s.name)) break;
        decl.stages.push(r.stage(s));
        break;
      }
      case 'expect': {
        if (!s.what || !s.value) break;
        const what = s.what.text as 'params' | 'macs' | 'output';
        if (!once(`expect ${what}`, s)) break;
        if (what === 'output') {
          if (r.inputShape(s.value as A.SizeNode, 'expect output') === null) break;
        } else if (!r.countForm(s.value as A.NumberNode)) break;
        decl.expects.push({ what, value: s.value, origin: r.at(s) });
        break;
      }
    }
  }
  return decl;
}

class ValueReader {
  constructor(
    private readonly file: string,
    private readonly report: Reporter,
  ) {}

  /** Where a node was written: the file and the node itself (its span is read when needed, never copied). */
  at(node: Written): Origin {
    return { file: this.file, node };
  }

  /** True the first time `key` is seen in `seen`; after that reports R0202 and returns false. */
  firstTime(seen: Map<string, Written>, key: string, node: Written, where = 'here'): boolean {
    const first = seen.get(key);
    if (first) {
      this.report.report('R0202', this.at(node), `'${key}' is already set ${where}`, {
        related: [{ file: this.file, span: first.span, message: 'first set here' }],
      });
      return false;
    }
    seen.set(key, node);
    return true;
  }

  /** Reports a kind that is not one of `known`, with the closest as a fix. */
  unknownKind(code: Code, what: string, word: A.NameNode, known: readonly string[]): null {
    const suggestion = didYouMean(word.text, known);
    this.report.report(code, this.at(word), `unknown ${what} '${word.text}'`, {
      help: suggestion ? `did you mean '${suggestion}'?` : `the ${what}s are ${known.join(', ')}`,
      fixes: suggestion ? [{ title: `change to '${suggestion}'`, span: word.span, newText: suggestion }] : [],
    });
    return null;
  }

  located<T>(value: T | null | undefined, node: Written): Maybe<Located<T>> {
    if (value === undefined) return null; // missing value: the parser reported it
    return value === null ? null : { value, origin: this.at(node) };
  }

  /** A whole number from `min` to `max`; null (reported) otherwise, undefined when missing. */
  whole(n: A.NumberNode | undefined, what: string, min: number, max = limits.value): number | null | undefined {
    if (!n) return undefined;
    if (!Number.isInteger(n.value)) {
      this.report.report('R0207', this.at(n), `${what} must be a whole number, not ${n.text}`);
      return null;
    }
    if (n.value < min) {
      this.report.report('R0208', this.at(n), `${what} must be at least ${min}, not ${n.text}`);
      return null;
    }
    if (n.value > max) {
      this.report.report('R0208', this.at(n), `${what} must be at most ${groupDigits(max)}, not ${n.text}`);
      return null;
    }
    return n.value;
  }

  /** A probability 0 ≤ P < 1 (`dropout` R0208, `drop_path` R0240); null (reported) otherwise, undefined when missing. */
  probability(n: A.NumberNode | undefined, what: 'dropout' | 'drop_path'): number | null | undefined {
    if (!n) return undefined;
    if (!(n.value >= 0 && n.value < 1)) {
      this.report.report(what === 'dropout' ? 'R0208' : 'R0240', this.at(n), `${what} must be at least 0 and below 1, not ${n.text}`, {
        help:
          what === 'dropout'
            ? 'dropout is the probability of zeroing a feature, e.g. dropout 0.2'
            : "drop_path is the last block's probability of dropping its residual branch, e.g. drop_path 0.1",
      });
      return null;
    }
    return n.value;
  }

  /** `output_stride`: 8, 16 or 32 (R0230). */
  outputStride(n: A.NumberNode | undefined): number | null | undefined {
    if (!n) return undefined;
    if (!(outputStrides as readonly number[]).includes(n.value)) {
      this.report.report('R0230', this.at(n), `output_stride must be ${outputStrides.join(', ').replace(/, (\d+)$/, ' or $1')}, not ${n.text}`, {
        help: 'output_stride is the stride of the last feature map: 16 or 8 for a segmentation backbone (DeepLab), 32 for none',
      });
      return null;
    }
    return n.value;
  }

  pool(s: A.PoolStatement): Located<GlobalPoolKind> | null {
    if (!s.poolKind) return null;
    const kind = poolKinds.find((k) => k === s.poolKind!.text);
    if (!kind) return this.unknownKind('R0241', 'pool kind', s.poolKind, poolKinds);
    return { value: kind, origin: this.at(s) };
  }

  /** The names `outputs` lists, each once (R0235); what they name is checked when the model is built. */
  outputs(s: A.OutputsStatement): Located<OutputName[]> | null {
    if (s.names.length === 0) return null;
    const seen = new Map<string, Written>();
    const names: OutputName[] = [];
    let valid = true;
    for (const n of s.names) {
      const first = seen.get(n.text);
      if (first) {
        this.report.report('R0235', this.at(n), `'${n.text}' is already listed in outputs`, {
          related: [{ file: this.file, span: first.span, message: 'first listed here' }],
          fixes: [{ title: `remove the second '${n.text}'`, span: n.span, newText: '' }],
        });
        valid = false;
        continue;
      }
      seen.set(n.text, n);
      names.push({ name: n.text, origin: this.at(n) });
    }
    return valid ? { value: names, origin: this.at(s) } : null;
  }

  inputShape(size: A.SizeNode | undefined, what = 'input'): Shape | null | undefined {
    if (!size) return undefined;
    if (size.dims.length !== 3) {
      this.report.report('R0211', this.at(size), `${what} takes channels x height x width, not ${size.text}`, {
        help: `write it as e.g. 3x224x224`,
      });
      return null;
    }
    if (size.dims.some((d) => d < 1 || d > limits.value)) {
      this.report.report('R0208', this.at(size), `every dimension of ${what} must be from 1 to ${groupDigits(limits.value)}, not ${size.text}`);
      return null;
    }
    const [c, h, w] = size.dims as [number, number, number];
    return { c, h, w };
  }

  kernel(size: A.SizeNode | undefined, what: string): [number, number] | null | undefined {
    if (!size) return undefined;
    if (size.dims.length !== 2) {
      this.report.report('R0211', this.at(size), `a ${what} kernel is height x width, not ${size.text}`, { help: 'write it as e.g. 3x3' });
      return null;
    }
    if (size.dims.some((d) => d < 1 || d > limits.value)) {
      this.report.report('R0208', this.at(size), `a kernel must be from 1x1 to ${limits.value}x${limits.value}, not ${size.text}`);
      return null;
    }
    return size.dims as [number, number];
  }

  /** `expect params|macs` takes an exact integer or a suffixed rounded count. */
  countForm(n: A.NumberNode): boolean {
    if (n.plainInteger || n.suffix) return true;
    this.report.report('R0404', this.at(n), `expect compares an exact count or a rounded one with a suffix, not ${n.text}`, {
      help: 'write an integer (25_557_032) or a suffixed number (25.56M, 4.09G, 270K)',
    });
    return false;
  }

  /** Options of a layer: each known key once, each value a whole number at least 1. */
  wholeOptions(options: A.OptionNode[], allowed: readonly string[], where: string): Map<string, number | null> {
    const values = new Map<string, number | null>();
    const seen = new Map<string, Written>();
    for (const o of options) {
      const key = o.key.text;
      if (!allowed.includes(key)) {
        this.report.report('R0209', this.at(o.key), `'${key}' does not apply to ${where}`, {
          help: `${where} takes ${allowed.map((a) => `'${a}'`).join(', ') || 'no options'}`,
        });
        continue;
      }
      if (!this.firstTime(seen, key, o)) continue;
      if (o.value && 'dims' in o.value) {
        this.report.report('R0207', this.at(o.value), `'${key}' takes a number, not ${o.value.text}`);
        values.set(key, null);
        continue;
      }
      const v = this.whole(o.value, `'${key}'`, key === 'pad' ? 0 : 1);
      values.set(key, v === undefined ? null : v);
    }
    return values;
  }

  /** `{ [field]: origin }` of the first option `key` written, or nothing: spread into a spec. */
  optionOrigin<F extends string>(options: A.OptionNode[], key: string, field: F): { [K in F]?: Origin } {
    const o = options.find((x) => x.key.text === key);
    return (o ? { [field]: this.at(o) } : {}) as { [K in F]?: Origin };
  }

  /** Where a stem layer's `stride` and `pad` were written. */
  private layerOrigins(options: A.OptionNode[]): Pick<StemLayerSpec, 'strideOrigin' | 'padOrigin'> {
    return { ...this.optionOrigin(options, 'stride', 'strideOrigin'), ...this.optionOrigin(options, 'pad', 'padOrigin') };
  }

  stem(s: A.StemStatement): StemLayerSpec[] | null {
    const layers: StemLayerSpec[] = [];
    let valid = true;
    for (const l of s.layers) {
      const kernel = this.kernel(l.kernel, l.kind);
      if (l.kind === 'conv') {
        const channels = this.whole(l.channels, 'the number of channels', 1);
        const opts = this.wholeOptions(l.options, optionsFor('stem', l.kind), 'a stem conv');
        const stride = opts.get('stride');
        const groups = opts.get('groups');
        const pad = opts.get('pad');
        if (!kernel || !channels || stride === null || groups === null || pad === null) {
          valid = false;
          continue;
        }
        layers.push({ op: 'conv', kernel, channels, stride: stride ?? 1, groups: groups ?? 1, pad, origin: this.at(l), ...this.layerOrigins(l.options) });
      } else {
        const opts = this.wholeOptions(l.options, optionsFor('stem', l.kind), `a stem ${l.kind}`);
        const stride = opts.get('stride');
        const pad = opts.get('pad');
        if (!kernel || stride === null || pad === null) {
          valid = false;
          continue;
        }
        if (pad !== undefined && kernel.some((k) => 2 * pad > k)) {
          // PyTorch: "pad should be at most half of effective kernel size".
          this.report.report('R0239', this.optionOrigin(l.options, 'pad', 'at').at!, `a ${l.kind} ${kernel[0]}x${kernel[1]} pads by at most half its kernel, not ${pad}`, {
            help: `PyTorch's pools refuse more; write pad ${Math.floor(Math.min(...kernel) / 2)} or less`,
          });
          valid = false;
          continue;
        }
        layers.push({ op: l.kind, kernel, channels: 0, stride: stride ?? 1, groups: 1, pad, origin: this.at(l), ...this.layerOrigins(l.options) });
      }
    }
    return valid ? layers : null;
  }

  block(s: A.BlockStatement): BlockSpec | null {
    if (!s.blockKind) return null;
    const kindText = s.blockKind.text;
    const kind = blockKinds.find((k) => k === kindText);
    if (!kind) return this.unknownKind('R0203', 'block kind', s.blockKind, blockKinds);
    const applies = optionsFor('block', kind);
    const where = `${kind} blocks`;
    let valid = true;
    // An option of other kinds (the vocabulary's `of`): said with what it is for.
    const ours = s.options.filter((o) => {
      if (applies.includes(o.key.text)) return true;
      this.report.report('R0209', this.at(o.key), `'${o.key.text}' does not apply to ${where}`, { help: notForKind(o.key.text, kind) });
      valid = false;
      return false;
    });
    const numeric = ours.filter((o) => o.key.text !== 'stride_on');
    const opts = this.wholeOptions(
      numeric,
      applies.filter((w) => w !== 'stride_on'),
      where,
    );
    let strideOn: '1x1' | '3x3' = defaults.strideOn;
    const strideOnSeen = new Map<string, Written>();
    for (const o of ours.filter((x) => x.key.text === 'stride_on')) {
      if (!this.firstTime(strideOnSeen, 'stride_on', o)) continue;
      const text = o.value?.text;
      const value = text === undefined ? undefined : meaning(strideOnWords, text);
      if (value) strideOn = value;
      else if (o.value) {
        this.report.report('R0208', this.at(o.value), `stride_on is ${spellings(strideOnWords).join(' or ')}, not ${text}`);
        valid = false;
      }
    }
    for (const v of opts.values()) if (v === null) valid = false;
    if (!valid) return null;
    return {
      kind,
      expansion: opts.get('expansion') ?? blockExpansion[kind],
      groups: opts.get('groups') ?? defaults.groups,
      widthPerGroup: opts.get('width_per_group') ?? defaults.widthPerGroup,
      strideOn,
      se: opts.get('se') ?? undefined,
      origin: this.at(s),
      ...this.optionOrigin(s.options, 'stride_on', 'strideOnOrigin'),
      ...this.optionOrigin(s.options, 'se', 'seOrigin'),
    };
  }

  shortcut(s: A.ShortcutStatement): Located<ShortcutOption> | null {
    if (!s.shortcutKind) return null;
    const text = s.shortcutKind.text;
    const option = Object.hasOwn(shortcutKinds, text) ? shortcutKinds[text] : undefined;
    if (!option) return this.unknownKind('R0204', 'shortcut kind', s.shortcutKind, Object.keys(shortcutKinds));
    return { value: option, origin: this.at(s) };
  }

  norm(s: A.NormStatement): (Located<NormSpec> & { groupsOrigin?: Origin }) | null {
    if (!s.normKind) return null;
    const text = s.normKind.text;
    const kind = normKinds.find((k) => k === text);
    if (!kind) return this.unknownKind('R0205', 'norm kind', s.normKind, normKinds);
    const applies = optionsFor('norm', kind);
    let eps = defaults.eps;
    let momentum = defaults.momentum;
    let groups = kind === 'group' ? defaults.normGroups : 1;
    let valid = true;
    const seen = new Map<string, Written>();
    for (const o of s.options) {
      const key = o.key.text;
      if (!applies.includes(key)) {
        this.report.report('R0209', this.at(o.key), `'${key}' does not apply to ${kind} norm`, {
          help: `${kind} norm takes ${applies.map((a) => `'${a}'`).join(', ')}`,
        });
        valid = false;
        continue;
      }
      if (!this.firstTime(seen, key, o)) continue;
      const v = o.value && !('dims' in o.value) ? o.value : undefined;
      if (!v) continue;
      if (key === 'groups') {
        const g = this.whole(v, 'groups', 1);
        if (g === null || g === undefined) valid = false;
        else groups = g;
      } else if (key === 'eps') {
        if (v.value > 0 && v.value < 1) eps = v.value;
        else {
          this.report.report('R0208', this.at(v), `eps must be above 0 and below 1, not ${v.text}`, { help: 'the usual value is 1e-5' });
          valid = false;
        }
      } else if (key === 'momentum') {
        if (v.value >= 0 && v.value <= 1) {
          momentum = v.value;
          if (v.value > 0.5) {
            this.report.report('R0218', this.at(v), `momentum ${v.text} gives each new batch a weight of ${v.text} in the running statistics (PyTorch's convention)`, {
              help: `Keras and TensorFlow count the other way: their momentum ${v.text} is PyTorch's ${Math.round((1 - v.value) * 1e6) / 1e6}, and this statement takes PyTorch's (0.1 unless set)`,
            });
          }
        } else {
          this.report.report('R0208', this.at(v), `momentum must be between 0 and 1, not ${v.text}`, {
            help: "momentum is PyTorch's: the weight of the new batch, 0.1 by default",
          });
          valid = false;
        }
      }
    }
    if (!valid) return null;
    return { value: { kind, eps, momentum, groups }, origin: this.at(s), ...this.optionOrigin(s.options, 'groups', 'groupsOrigin') };
  }

  activation(s: A.ActivationStatement): Located<ActivationSpec> | null {
    if (!s.fn) return null;
    const fn = activations.find((a) => a === s.fn!.text);
    if (!fn) return this.unknownKind('R0206', 'activation', s.fn, activations);
    if (!s.slope) return { value: { fn, negativeSlope: fn === 'leaky_relu' ? leakyReluSlope : 0 }, origin: this.at(s) };
    if (fn !== 'leaky_relu') {
      this.report.report('R0209', this.at(s.slope), `${fn} takes no slope`, { help: 'only leaky_relu takes a negative slope: `activation leaky_relu 0.2`' });
      return null;
    }
    if (!Number.isFinite(s.slope.value)) {
      this.report.report('R0242', this.at(s.slope), `leaky_relu's slope must be a finite number, not ${s.slope.text}`, { help: "PyTorch's default is 0.01" });
      return null;
    }
    return { value: { fn, negativeSlope: s.slope.value }, origin: this.at(s) };
  }

  stage(s: A.StageStatement): StageDecl {
    const name = s.name!;
    const decl: StageDecl = {
      name: name.text,
      origin: this.at(s),
      nameOrigin: this.at(name),
      blocks: undefined,
      width: undefined,
      stride: undefined,
      dilation: undefined,
      block: undefined,
      shortcut: undefined,
    };
    if ((reservedStageNames as readonly string[]).includes(name.text)) {
      this.report.report('R0212', this.at(name), `'${name.text}' cannot name a stage: layer names use it for another part`, {
        help: `choose another name, e.g. '${name.text}1'`,
      });
    }
    const seen = new Map<string, Written>();
    for (const item of s.items) {
      const key = item.kind === 'field' ? item.key.text : item.kind;
      if (!this.firstTime(seen, key, item, 'in this stage')) continue;
      if (item.kind === 'block') decl.block = this.block(item);
      else if (item.kind === 'shortcut') decl.shortcut = this.shortcut(item);
      else {
        const value = item.value && 'dims' in item.value ? undefined : item.value;
        if (item.value && !value) {
          this.report.report('R0207', this.at(item.value), `'${key}' takes a number, not ${item.value.text}`);
        }
        const v = this.located(this.whole(value, `'${key}'`, 1, key === 'blocks' ? limits.blocks : limits.value), item);
        if (key === 'blocks') decl.blocks = v;
        else if (key === 'width') decl.width = v;
        else if (key === 'stride') decl.stride = v;
        else if (key === 'dilation') decl.dilation = v;
      }
    }
    return decl;
  }
}
