import { Command, CommanderError, type OutputConfiguration } from 'commander';
import { createRequire } from 'node:module';
import { CodedError } from '../diagnostics/coded-error.js';
import { trackInputs } from '../io/command-inputs.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { CliError, RefusedError, exitCodes, printError } from './errors.js';
import type { Output } from './output.js';

const packageJson = createRequire(import.meta.url)('../../package.json') as { version: string };

type Register = (program: Command, out: Output) => void;

/**
 * Every command: its description, and the module that defines it, loaded only when the
 * command runs (or its help is asked for), so `resnetc check` does not pay for loading
 * TensorFlow.js. Each module registers its command's arguments, options and action.
 */
const commands: { name: string; description: string; load: () => Promise<Register> }[] = [
  { name: 'check', description: 'check .resnet files: syntax, shapes, counts and expect lines', load: async () => (await import('./check.js')).registerCheck },
  { name: 'summary', description: 'print a model as a table: each stage (or layer) with its output shape, parameters and MACs', load: async () => (await import('./summary.js')).registerSummary },
  { name: 'compile', description: 'compile a model to ONNX, TensorFlow.js, safetensors or a PyTorch module, with weights initialised as torchvision does or taken from a file', load: async () => (await import('./compile.js')).registerCompile },
  { name: 'train', description: 'train a model with TensorFlow.js on an image folder, IDX (MNIST layout), CIFAR-10 or synthetic data', load: async () => (await import('./train.js')).registerTrain },
  { name: 'eval', description: 'evaluate trained weights on an image folder, IDX or CIFAR-10 data: top-1 and top-5 accuracy, loss, and each class', load: async () => (await import('./eval.js')).registerEval },
  { name: 'predict', description: 'classify image files with trained weights: the most probable classes of each, with their probabilities', load: async () => (await import('./predict.js')).registerPredict },
  { name: 'fmt', description: 'rewrite .resnet files in the canonical layout (folders: every .resnet file inside)', load: async () => (await import('./fmt.js')).registerFmt },
  { name: 'lsp', description: 'run the language server (for editors), speaking the Language Server Protocol', load: async () => (await import('./lsp.js')).registerLsp },
  { name: 'graph', description: 'draw a model as an SVG diagram: stem, stages (block kind, depth, width, stride, shortcut, output shape, parameters), head', load: async () => (await import('./graph.js')).registerGraph },
];

/**
 * The `resnetc` command line for these arguments: the commands they name are loaded in
 * full, the others stand in with their name and description (for `resnetc --help`).
 */
export async function buildProgram(out: Output, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('resnetc')
    .description('Check and compile .resnet network specs to ONNX and TensorFlow.js')
    .version(packageJson.version, '-V, --version')
    .configureOutput(quiet(out))
    .showSuggestionAfterError(false)
    .exitOverride();
  const named = new Set(argv[0] === 'help' ? argv.slice(1, 2) : argv.slice(0, 1));
  for (const c of commands) {
    if (named.has(c.name)) {
      (await c.load())(program, out);
      program.commands[program.commands.length - 1]!.description(c.description);
    } else program.command(c.name).description(c.description);
  }
  for (const command of program.commands) command.exitOverride().configureOutput(quiet(out)).showSuggestionAfterError(false);
  return program;
}

/** Help and version go out as commander writes them; its error messages do not: run() prints each usage error as one diagnostic. */
function quiet(out: Output): OutputConfiguration {
  return { writeOut: (s) => out.out(s), writeErr: (s) => out.err(s), outputError: () => undefined };
}

/**
 * A usage error commander found, as resnetc reports it: the message without commander's
 * prefix, and a help line with a "did you mean" for an unknown option or command. An
 * unknown option is reported before a required option that is missing (commander checks
 * those first): `--taget onnx` is a misspelt `--target`, not a missing one.
 */
function usageError(e: CommanderError, program: Command, argv: readonly string[]): { message: string; help: string } {
  const command = program.commands.find((c) => c.name() === argv[0] || c.aliases().includes(argv[0] ?? ''));
  const usage = command ? `\`resnetc ${command.name()} --help\`` : '`resnetc --help`';
  let message = e.message.replace(/^error: /, '').split('\n')[0]!;
  if (e.code === 'commander.missingMandatoryOptionValue' && command) {
    const unknown = command.parseOptions(argv.slice(1)).unknown.find((a) => a.startsWith('-'));
    if (unknown !== undefined) message = `unknown option '${unknown}'`;
  }
  const unknownOption = /^unknown option '([^'=]*)/.exec(message)?.[1]; // `--taget=onnx` names `--taget`
  if (unknownOption !== undefined) {
    message = `unknown option '${unknownOption}'`;
    const flags = (command ?? program).options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined).concat('--help');
    const suggestion = didYouMean(unknownOption, flags);
    return { message, help: suggestion ? `did you mean '${suggestion}'? (${usage} lists the options)` : `${usage} lists the options` };
  }
  const unknownCommand = /^unknown command '([^']*)'/.exec(message)?.[1];
  if (unknownCommand !== undefined) {
    const suggestion = didYouMean(unknownCommand, program.commands.map((c) => c.name()));
    return { message, help: suggestion ? `did you mean '${suggestion}'? (\`resnetc --help\` lists the commands)` : '`resnetc --help` lists the commands' };
  }
  if (e.code === 'commander.help') return { message: 'no command given', help: 'the commands are listed above' };
  return { message, help: `${usage} shows the usage` };
}

/** Runs the command line and returns the exit code: 0 clean, 1 failed, 2 bad usage. */
export async function run(argv: string[], out: Output): Promise<number> {
  const program = await buildProgram(out, argv);
  try {
    // Every file the command reads is noted, so that no output of it is written over one.
    await trackInputs(() => program.parseAsync(argv, { from: 'user' }));
    return out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return exitCodes.ok; // --help, --version
      const { message, help } = usageError(e, program, argv);
      printError(out, new CliError('R0901', message, 2, help));
      return exitCodes.usage;
    }
    if (e instanceof RefusedError) {
      out.err(`${e.message}\n`); // after the diagnostics that stopped the command, which carry the codes
      return e.exitCode;
    }
    if (e instanceof CodedError) {
      printError(out, e);
      return e.exitCode;
    }
    throw e;
  }
}
