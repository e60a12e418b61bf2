import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Code } from '../../src/diagnostics/codes.js';
import { maxHeaderBytes, parseSafetensors, serializeSafetensors, sniffWeightsFile, tensorAsFloat32, TorchWeightsError } from '../../src/weights/safetensors.js';

/**
 * The safetensors codec against files written here by hand, byte by byte, from the format's
 * description (8-byte little-endian header length, JSON header, data): what it reads, and a
 * coded refusal for every way a file can be wrong. Python's reading and writing of the same
 * format is tested in test/torch/state-dict.test.ts.
 */

/** A file: `header` (JSON text, or an object to write as JSON), then `data`. `length` overrides the length field. */
function file(header: string | object, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(Array.from(data), 8 + text.length);
  return out;
}

function le(kind: 'f32' | 'f64' | 'u16' | 'i64', values: number[]): number[] {
  const size = { f32: 4, f64: 8, u16: 2, i64: 8 }[kind];
  const view = new DataView(new ArrayBuffer(size * values.length));
  values.forEach((v, i) => {
    if (kind === 'f32') view.setFloat32(4 * i, v, true);
    else if (kind === 'f64') view.setFloat64(8 * i, v, true);
    else if (kind === 'u16') view.setUint16(2 * i, v, true);
    else view.setBigInt64(8 * i, BigInt(v), true);
  });
  return Array.from(new Uint8Array(view.buffer));
}

function refusal(bytes: Uint8Array): { code: Code; message: string; help: string | undefined } {
  try {
    parseSafetensors(bytes, "'w.safetensors'");
  } catch (e) {
    if (e instanceof TorchWeightsError) return { code: e.code, message: e.message, help: e.help };
    throw e;
  }
  throw new Error('the file was accepted');
}

const t = (dtype: string, shape: number[], begin: number, end: number): object => ({ dtype, shape, data_offsets: [begin, end] });

describe('reading safetensors', () => {
  it('reads the entries, offsets and metadata of a hand-written file', () => {
    const bytes = file({ __metadata__: { format: 'pt' }, b: t('I64', [], 8, 16), a: t('F32', [2], 0, 8) }, [...le('f32', [1.5, -2]), ...le('i64', [7])]);
    const f = parseSafetensors(bytes, 'w');
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(['a', 'b']);
    expect(tensorAsFloat32(f, f.tensors.get('a')!, 'w')).toEqual(Float32Array.of(1.5, -2));
    expect(f.tensors.get('b')).toMatchObject({ dtype: 'I64', shape: [], end: bytes.length });
  });

  it('reads F16, BF16 and F64 as float32: half and bfloat16 exactly, double rounded to nearest', () => {
    const half = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555];
    const bf16 = [0x3f80, 0xc0a0, 0x0001, 0xff80];
    const doubles = [0.1, -1e-300, 3];
    const bytes = file({ h: t('F16', [7], 0, 14), b: t('BF16', [2, 2], 14, 22), d: t('F64', [3], 22, 46) }, [...le('u16', half), ...le('u16', bf16), ...le('f64', doubles)]);
    const f = parseSafetensors(bytes, 'w');
    const read = (name: string): number[] => Array.from(tensorAsFloat32(f, f.tensors.get(name)!, 'w'));
    // 0x3555 = 1 + 341/1024 times 2^-2.
    expect(read('h')).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity, (1 + 341 / 1024) / 4]);
    expect(read('b')).toEqual([1, -5, 2 ** -133, -Infinity]);
    expect(read('d')).toEqual([Math.fround(0.1), -0, 3]);
  });

  it('reads from a Node Buffer, whose slices are views of a larger pool, as from any bytes', () => {
    const bytes = Buffer.from(file({ a: t('F32', [2], 0, 8) }, le('f32', [1.5, -2])));
    const f = parseSafetensors(bytes, 'w');
    expect(tensorAsFloat32(f, f.tensors.get('a')!, 'w')).toEqual(Float32Array.of(1.5, -2));
  });

  it('reads an empty tensor and a file of no tensors', () => {
    expect(parseSafetensors(file({ e: t('F32', [0, 3], 0, 0) }), 'w').tensors.get('e')!.shape).toEqual([0, 3]);
    expect(parseSafetensors(file({}), 'w').tensors.size).toBe(0);
  });

  it.each<[string, Uint8Array, Code, RegExp]>([
    ['a file shorter than the length field', new Uint8Array(5), 'R1001', /has 5 bytes/],
    ['a header length past the end of the file', file('{}', [], 100n), 'R1001', /says 100 bytes, but the file has 2/],
    ['a header length over the limit', file('{}', [], BigInt(maxHeaderBytes) + 1n), 'R1001', /over the 100000000 allowed/],
    ['a header that is not UTF-8', file('{"\xff"}').map((b, i) => (i === 10 ? 0xff : b)), 'R1001', /not UTF-8/],
    ['a header that is not JSON', file('{"a": '), 'R1001', /not JSON/],
    ['a header that is a JSON array', file('[1, 2]'), 'R1001', /not a JSON object/],
    ['a header that is JSON null', file('null    '), 'R1001', /not a JSON object/],
    ['an entry that is not an object', file({ a: 3 }), 'R1001', /entry of 'a' is not an object/],
    ['an entry without a dtype', file({ a: { shape: [1], data_offsets: [0, 4] } }, le('f32', [1])), 'R1001', /'a' has no dtype/],
    ['a shape that is not whole numbers', file({ a: t('F32', [1.5], 0, 4) }, le('f32', [1])), 'R1001', /'a' has no shape of whole numbers/],
    ['a negative dimension', file({ a: t('F32', [-1], 0, 4) }, le('f32', [1])), 'R1001', /no shape/],
    ['data_offsets of three numbers', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, le('f32', [1])), 'R1001', /no data_offsets/],
    ['metadata that is not strings', file({ __metadata__: { epoch: 3 } }), 'R1001', /__metadata__ 'epoch' is not a string/],
    ['a dtype the format does not have', file({ a: t('F128', [1], 0, 16) }, new Array(16).fill(0)), 'R1002', /'F128', which resnetc does not know/],
    ['offsets spanning fewer bytes than the shape needs', file({ a: t('F32', [2, 2], 0, 12) }, new Array(12).fill(0)), 'R1003', /needs 16 bytes, but its data_offsets \[0, 12\] span 12/],
    ['offsets that run backwards', file({ a: t('F32', [1], 8, 4) }, new Array(8).fill(0)), 'R1003', /span -4/],
    ['tensors that overlap', file({ a: t('F32', [2], 0, 8), b: t('F32', [2], 4, 12) }, new Array(12).fill(0)), 'R1004', /'b' \(from 4\) overlap the tensor before them/],
    ['a gap between tensors', file({ a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) }, new Array(12).fill(0)), 'R1004', /leave 4 bytes unused/],
    ['bytes after the last tensor', file({ a: t('F32', [1], 0, 4) }, new Array(6).fill(0)), 'R1004', /cover 4 of the 6 bytes/],
    ['a file cut short', file({ a: t('F32', [4], 0, 16) }, new Array(10).fill(0)), 'R1004', /past its end \(10 bytes\)/],
  ])('refuses %s', (_what, bytes, code, message) => {
    const r = refusal(bytes);
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
    expect(r.message).toContain("'w.safetensors'");
  });

  it("refuses PyTorch's pickles, the zip of torch.save and the legacy pickle, saying how to convert them", () => {
    const zip = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0, 0);
    const pickle = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8);
    for (const [bytes, what] of [
      [zip, /a zip archive, PyTorch's torch.save format/],
      [pickle, /a Python pickle, PyTorch's legacy torch.save format/],
    ] as const) {
      const r = refusal(bytes);
      expect(r.code).toBe('R1000');
      expect(r.message).toMatch(what);
      expect(r.help).toContain('safetensors.torch.save_file(model.state_dict(), "weights.safetensors")');
    }
    expect(sniffWeightsFile(zip)).toBe('pytorch-zip');
    expect(sniffWeightsFile(file({}))).toBe('safetensors');
    expect(sniffWeightsFile(Uint8Array.of(8, 1, 0, 0, 0, 0, 0, 0, 0x12))).toBe('other');
  });

  it('refuses to read a non-float tensor as a weight (R1002)', () => {
    const f = parseSafetensors(file({ a: t('I32', [2], 0, 8) }, new Array(8).fill(0)), 'w');
    expect(() => tensorAsFloat32(f, f.tensors.get('a')!, 'w')).toThrow(/'a' is I32; a weight must be a floating-point tensor/);
  });
});

describe('damaged safetensors', () => {
  const valid = file({ __metadata__: { format: 'pt' }, n: t('I64', [], 0, 8), w: t('F16', [2, 2], 8, 16), x: t('F32', [3], 16, 28) }, [...le('i64', [4]), ...le('u16', [1, 2, 3, 4]), ...le('f32', [1, 2, 3])]);

  it('never fails but with a coded refusal, whatever bytes are changed, cut or added', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: 0, max: valid.length + 8 }),
        (edits, length) => {
          const bytes = new Uint8Array(length);
          bytes.set(valid.subarray(0, Math.min(length, valid.length)));
          for (const [at, value] of edits) if (at < length) bytes[at] = value;
          try {
            const f = parseSafetensors(bytes, 'w');
            for (const e of f.tensors.values()) {
              try {
                expect(tensorAsFloat32(f, e, 'w')).toHaveLength(e.shape.reduce((a, b) => a * b, 1));
              } catch (err) {
                if (!(err instanceof TorchWeightsError && err.code === 'R1002')) throw err;
              }
            }
          } catch (err) {
            if (!(err instanceof TorchWeightsError)) throw err;
          }
        },
      ),
      { numRuns: 2000, seed: 5 },
    );
  });
});

describe('writing safetensors', () => {
  const bytes = serializeSafetensors(
    [
      { name: 'w', dtype: 'F32', shape: [3], values: () => Float32Array.of(1, -0.5, 3) },
      { name: 'n', dtype: 'I64', shape: [], values: () => BigInt64Array.of(0n) },
    ],
    { format: 'pt' },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));

  it("pads the header with spaces to a multiple of 8 bytes, as Hugging Face's writer does", () => {
    expect(n % 8).toBe(0);
    expect(text).toMatch(/^\{.*\} *$/);
    expect(text.length - text.trimEnd().length).toBeLessThan(8);
  });

  it('writes the metadata first, 8-byte tensors before 4-byte ones, offsets that follow each other, little-endian values', () => {
    expect(JSON.parse(text)).toEqual({
      __metadata__: { format: 'pt' },
      n: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
      w: { dtype: 'F32', shape: [3], data_offsets: [8, 20] },
    });
    expect(Object.keys(JSON.parse(text))).toEqual(['__metadata__', 'n', 'w']);
    expect(Array.from(bytes.subarray(8 + n))).toEqual([...le('i64', [0]), ...le('f32', [1, -0.5, 3])]);
  });
});
