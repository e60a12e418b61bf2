import { CodedError } from '../diagnostics/coded-error.js';

/**
 * The packages resnetc uses when they are installed and never requires, with what each
 * gives. None is a dependency (an install must stay small and must not run their install
 * scripts, which download native or CUDA binaries from hosts other than the npm
 * registry); a user who wants one installs it beside resnetc.
 */
export const optionalPackages = {
  'onnxruntime-node': 'running ONNX models (ONNX Runtime)',
  '@tensorflow/tfjs-node': 'the native TensorFlow backend',
  '@tensorflow/tfjs-node-gpu': 'the native TensorFlow backend on CUDA GPUs',
  '@tensorflow/tfjs-backend-webgpu': 'the WebGPU backend of TensorFlow.js',
  webgpu: 'WebGPU in Node (Dawn)',
  sharp: 'image folders and image files (decoding with libvips)',
} as const;

export type OptionalPackage = keyof typeof optionalPackages;

/**
 * An optional package could not be loaded: R0940 when it is not installed, R0941 when it
 * is installed but fails to load (a native binary its install script should have fetched,
 * a missing dependency of its own); `cause` is the loader's error.
 */
export class OptionalPackageError extends CodedError {
  constructor(
    readonly packageName: OptionalPackage,
    readonly installed: boolean,
    cause?: unknown,
  ) {
    super(
      installed ? 'R0941' : 'R0940',
      installed ? `${packageName} is installed but does not load: ${firstLine(cause)}` : `${packageName} is not installed`,
      installed
        ? `reinstall it (npm install ${packageName}) and check that its install script ran`
        : `to use ${optionalPackages[packageName]}: npm install ${packageName}`,
    );
    this.cause = cause;
  }
}

/**
 * Loads an optional package the first time a command needs it, resolved from resnetc's
 * own install (the user's project when resnetc is a dependency of it).
 *
 * Returns the package's module namespace (for a CommonJS package, its named exports and
 * `default`). Throws OptionalPackageError: R0940 when the package is not installed, R0941
 * when it is installed but importing it fails.
 */
export async function loadOptional<T = unknown>(name: OptionalPackage): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ name)) as T;
  } catch (e) {
    throw new OptionalPackageError(name, !isNotFound(e, name), e);
  }
}

/** Whether `e` says that the package `name` itself cannot be found (not a file or dependency inside it). */
function isNotFound(e: unknown, name: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Node: "Cannot find package 'name' imported from …"; a missing file inside the package
  // names its path ('…/node_modules/name/lib/binding.node'), a missing dependency its own name.
  return (e as Error).message.includes(`'${name}'`);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
