import type { WeightFile } from './adapt.js';
import type { WeightFormat } from './source.js';

/**
 * One weights file format that `--weights` reads. A new format is one more module under
 * src/weights/formats/ exporting one of these, listed in open.ts: it recognises its files,
 * reads and checks one, and matches it to a model; open.ts and adapt.ts do the rest (the
 * choice among formats, the refusal of unknown ones, the head and input adaptations, the
 * check of every value).
 */
export interface WeightFileFormat {
  readonly format: Exclude<WeightFormat, 'seeded' | 'memory'>;
  /** How the list of accepted formats names it: `an ONNX model (.onnx)`. */
  readonly accepts: string;
  /** Whether the file's first bytes (or a folder's entries) are this format's. */
  sniff(file: ExaminedPath): boolean;
  /**
   * How its files are named: an extension (`.onnx`) or a whole name (`model.json`). A file so
   * named that its bytes do not show to be of the format (a damaged one) is read as the
   * format, to be refused with the format's own codes; but a binary format does not claim a
   * text file (that is refused as of no format, R1008).
   */
  readonly suffix: string;
  /** Whether its files are text. */
  readonly text: boolean;
  /** Reads and checks the file (throwing the format's coded errors), ready to be matched. */
  read(file: ExaminedPath): Promise<WeightFile>;
}

/** A path `--weights` named, examined: a folder with its entries, or a regular file with its size and first bytes. */
export type ExaminedPath = { path: string; kind: 'folder'; entries: readonly string[] } | { path: string; kind: 'file'; size: number; head: Uint8Array };
