import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { join, resolve } from 'node:path';
import { BackendUnavailable, backendChoices, isBackendChoice, selectBackend } from '../tfjs/backend.js';
import { readWeights } from '../tfjs/compile.js';
import { epochPlan, standardAugment } from '../train/batches.js';
import { runRecord } from '../train/checkpoint.js';
import { checkFits, loadData } from '../train/data.js';
import type { Schedule } from '../train/optimizer.js';
import { checkOutputDir, checkOutputFile, prepareOutputFolder } from '../io/write.js';
import { findCheckpointDir } from '../train/checkpoint-store.js';
import { checkTrainableOutputs, checkpointDir, finalModelDir, openCheckpoint, train, type TrainOptions } from '../train/train.js';
import { CliError } from './errors.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';

interface TrainFlags {
  data: string;
  out: string;
  model?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  momentum: string;
  weightDecay: string;
  schedule: string;
  augment?: boolean;
  resume?: string | boolean;
  seed: string;
  limit?: string;
  backend: string;
  weights?: string;
  zeroInitResidual?: boolean;
}

function number(flag: string, text: string, check: (n: number) => boolean, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliError('R0607', `${flag} must be ${what}, not '${text}'`, 2);
  return n;
}

const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const positiveWhole = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Before training: every output can be written (hours of training do not end in a refusal). */
function checkTrainOutputs(outDir: string): void {
  prepareOutputFolder(outDir);
  checkOutputDir(join(outDir, checkpointDir), { replacesInput: true });
  checkOutputDir(join(outDir, finalModelDir));
  for (const name of ['metrics.csv', 'metrics.jsonl', 'plot.svg']) checkOutputFile(join(outDir, name));
}

export function registerTrain(program: Command, out: Output): void {
  program
    .command('train')
    .argument('<file>', 'a .resnet file')
    .requiredOption('--data <source>', "a directory of IDX files (gzipped or not) or CIFAR-10 binary batches, or 'synthetic[:N]'")
    .requiredOption('--out <dir>', 'where the checkpoint, final model, metrics and plot go')
    .option('-m, --model <name>', 'the model to train (needed when the file declares several)')
    .option('--epochs <n>', 'epochs to train', '10')
    .option('--batch-size <n>', 'examples per step', '64')
    .option('--lr <x>', 'peak learning rate', '0.1')
    .option('--momentum <x>', 'SGD momentum', '0.9')
    .option('--weight-decay <x>', 'L2 weight decay (PyTorch convention)', '5e-4')
    .option('--schedule <kind>', 'learning-rate schedule: cosine | step | constant', 'cosine')
    .option('--augment', 'random shifts (pad 4, crop) and horizontal flips')
    .option('--resume [dir]', `continue from a checkpoint (default: OUT/${checkpointDir})`)
    .option('--seed <n>', 'seed of the initialisation, the shuffling and the augmentation', '0')
    .option('--limit <n>', 'use only the first N examples of each split')
    .option('--backend <name>', `${backendChoices.join(' | ')}`, 'auto')
    .option('--weights <path>', 'start from the weights of an ONNX file or a tfjs model directory (fine-tuning)')
    .option('--zero-init-residual', "start each residual branch's last norm scale at 0")
    .action(async (file: string, flags: TrainFlags) => {
      // Everything the user can get wrong is checked before training starts.
      const epochs = number('--epochs', flags.epochs, positiveWhole, 'a positive whole number');
      const batchSize = number('--batch-size', flags.batchSize, positiveWhole, 'a positive whole number');
      const lr = number('--lr', flags.lr, (n) => n > 0, 'a positive number');
      const momentum = number('--momentum', flags.momentum, (n) => n >= 0 && n < 1, 'in [0, 1)');
      const weightDecay = number('--weight-decay', flags.weightDecay, (n) => n >= 0, 'zero or positive');
      const seed = number('--seed', flags.seed, whole, 'a whole number');
      const limit = flags.limit === undefined ? undefined : number('--limit', flags.limit, positiveWhole, 'a positive whole number');
      if (!['cosine', 'step', 'constant'].includes(flags.schedule)) throw new CliError('R0607', `unknown schedule '${flags.schedule}'`, 2, 'the schedules are cosine, step, constant');
      if (!isBackendChoice(flags.backend)) throw new CliError('R0605', `unknown backend '${flags.backend}'`, 2, `the backends are ${backendChoices.join(', ')}`);
      if (flags.resume !== undefined && flags.weights !== undefined) throw new CliError('R0607', '--resume and --weights cannot be used together', 2, 'a checkpoint already holds the weights');

      const outDir = resolve(flags.out);
      const { model } = loadModel(file, flags.model, out, 'train', 'build');
      checkTrainableOutputs(model);

      const data = loadData(flags.data, { input: model.input, classes: model.classes ?? 10, seed, ...(limit !== undefined ? { limit } : {}) });
      checkFits(data, model.input, model.classes, model.name);

      const options: TrainOptions = {
        epochs,
        batchSize,
        lr,
        momentum,
        weightDecay,
        schedule: flags.schedule as Schedule,
        augment: flags.augment ? standardAugment : undefined,
        seed,
        out: outDir,
        zeroInitResidual: flags.zeroInitResidual ?? false,
      };
      // A batch size the model cannot train with, and a checkpoint that cannot continue this run, are refused before anything loads.
      const plan = epochPlan(model, data.train.count, batchSize);
      if (flags.resume !== undefined) {
        options.resume = flags.resume === true ? (findCheckpointDir(outDir) ?? join(outDir, checkpointDir)) : resolve(flags.resume as string);
        openCheckpoint(options.resume, runRecord(model, data, options), plan);
      }

      let backend;
      try {
        backend = await selectBackend(flags.backend);
      } catch (e) {
        if (e instanceof BackendUnavailable) throw new CliError('R0605', e.message, 1, flags.backend === 'auto' ? undefined : "use --backend auto to take the first that loads");
        throw e;
      }

      let initial;
      if (flags.weights !== undefined) initial = await readWeights(flags.weights, model);
      checkTrainOutputs(outDir);

      out.err(`training ${model.name} on ${data.description} (${data.train.count} train, ${data.test.count} test) with backend ${backend}\n`);

      let stop = false;
      const onSigint = (): void => {
        stop = true;
      };
      process.on('SIGINT', onSigint);
      const bar = new SingleBar(
        {
          format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {rate} img/s | ETA {eta_text}',
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        undefined,
      );
      let barStarted = false;
      try {
        const result = await train(
          model,
          data,
          { ...options, ...(initial ? { initial } : {}) },
          {
            onStep: (p) => {
              const payload = { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), acc: `${(p.accuracy * 100).toFixed(1)}%`, rate: p.imagesPerSecond.toFixed(1), eta_text: duration(p.etaSeconds) };
              if (!barStarted || p.step === 1) {
                if (barStarted) bar.stop();
                bar.start(p.steps, p.step, payload);
                barStarted = true;
              } else bar.update(p.step, payload);
            },
            onEpoch: (m) => {
              if (barStarted) bar.stop();
              barStarted = false;
              out.out(
                `epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)} acc ${(m.trainAccuracy * 100).toFixed(2)}% | test loss ${m.testLoss.toFixed(4)} acc ${(m.testAccuracy * 100).toFixed(2)}% | ${m.imagesPerSecond.toFixed(1)} img/s, ${m.seconds.toFixed(1)}s\n`,
              );
            },
            shouldStop: () => stop,
            onWarning: (code, message) => {
              if (barStarted) bar.stop();
              barStarted = false;
              out.err(`${out.paint(['bold', 'yellow'], `warning[${code}]`)}${out.paint('bold', `: ${message}`)}\n`);
            },
          },
        );
        if (barStarted) bar.stop();
        if (result.stopped) {
          const where = result.stepsDone > 0 ? `epoch ${result.epochsDone + 1}, after step ${result.stepsDone}` : `the end of epoch ${result.epochsDone}`;
          out.err(`interrupted: checkpoint at ${where} in ${join(outDir, checkpointDir)}; continue with --resume\n`);
          out.exitCode = 130;
        } else {
          const last = result.metrics[result.metrics.length - 1];
          out.out(`wrote ${join(outDir, finalModelDir)} (tfjs Layers model), metrics.csv, metrics.jsonl, plot.svg in ${outDir}${last ? `; test accuracy ${(last.testAccuracy * 100).toFixed(2)}%` : ''}\n`);
        }
        result.model.dispose();
      } catch (e) {
        if (barStarted) bar.stop();
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
