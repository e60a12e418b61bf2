import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { join, resolve } from 'node:path';
import { BackendUnavailable, backendChoices, backendThreads, isBackendChoice, selectBackend } from '../tfjs/backend.js';
import { epochPlan, standardAugment } from '../train/batches.js';
import { runRecord } from '../train/checkpoint.js';
import { checkFits, loadData } from '../train/data.js';
import { frozenTensors } from '../train/freeze.js';
import { adamwDefaults, type OptimizerName, type Schedule } from '../train/optimizer.js';
import { checkOutputDir, checkOutputFile, prepareOutputFolder } from '../io/write.js';
import { findCheckpointDir } from '../train/checkpoint-store.js';
import { checkTrainableOutputs, checkpointDir, finalModelDir, openCheckpoint, train, type TrainOptions } from '../train/train.js';
import { CliError, printWarning } from './errors.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';
import { weightSource } from './weights.js';

interface TrainFlags {
  data: string;
  out: string;
  model?: string;
  epochs: string;
  batchSize: string;
  lr?: string;
  momentum?: string;
  weightDecay?: string;
  schedule: string;
  optimizer: string;
  nesterov?: boolean;
  betas?: string;
  eps?: string;
  warmup: string;
  labelSmoothing: string;
  freeze?: string;
  freezeNorms?: boolean;
  augment?: boolean;
  resume?: string | boolean;
  seed: string;
  limit?: string;
  backend: string;
  weights?: string;
  strictWeights?: boolean;
  zeroInitResidual?: boolean;
}

function number(flag: string, text: string, check: (n: number) => boolean, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliError('R0607', `${flag} must be ${what}, not '${text}'`, 2);
  return n;
}

/** `--betas 0.9,0.999`: two numbers in [0, 1). */
function betaPair(text: string): [number, number] {
  const parts = text.split(',');
  const values = parts.map((p) => Number(p));
  if (parts.length !== 2 || parts.some((p) => p.trim() === '') || values.some((b) => !(b >= 0 && b < 1))) throw new CliError('R0607', `--betas must be two numbers in [0, 1) separated by a comma (e.g. 0.9,0.999), not '${text}'`, 2);
  return values as [number, number];
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
    .option('--optimizer <name>', 'sgd | adamw (as torch.optim.SGD and torch.optim.AdamW)', 'sgd')
    .option('--lr <x>', 'peak learning rate (default 0.1 with sgd, 1e-3 with adamw)')
    .option('--momentum <x>', 'SGD momentum (default 0.9)')
    .option('--nesterov', "SGD with Nesterov momentum (PyTorch's nesterov=True)")
    .option('--weight-decay <x>', "weight decay: SGD's added to the gradient (default 5e-4), AdamW's decoupled (default 1e-2)")
    .option('--betas <b1,b2>', "AdamW's betas (default 0.9,0.999)")
    .option('--eps <x>', "AdamW's eps (default 1e-8)")
    .option('--schedule <kind>', 'learning-rate schedule: cosine | step | constant', 'cosine')
    .option('--warmup <epochs>', 'epochs of linear warmup from 0 (per step) before the schedule', '0')
    .option('--label-smoothing <x>', "label smoothing of the loss, as PyTorch's CrossEntropyLoss(label_smoothing)", '0')
    .option('--freeze <parts>', 'parts whose parameters are not trained, e.g. stem,conv2 (stem, stage names, final, head or fc)')
    .option('--freeze-norms', 'every norm in inference mode: running statistics fixed and used; scale and shift still train')
    .option('--augment', 'random shifts (pad 4, crop) and horizontal flips')
    .option('--resume [dir]', `continue from a checkpoint (default: OUT/${checkpointDir})`)
    .option('--seed <n>', 'seed of the initialisation, the shuffling and the augmentation', '0')
    .option('--limit <n>', 'use only the first N examples of each split')
    .option('--backend <name>', `${backendChoices.join(' | ')}`, 'auto')
    .option('--weights <path>', 'start from the weights of an ONNX file, a safetensors state_dict or a tfjs model directory (fine-tuning: a head of other classes is initialised afresh, other input channels adapted as timm does)')
    .option('--strict-weights', 'refuse --weights whose head or input channels differ from the spec instead of adapting them')
    .option('--zero-init-residual', "start each residual branch's last norm scale at 0")
    .action(async (file: string, flags: TrainFlags) => {
      // Everything the user can get wrong is checked before training starts.
      const epochs = number('--epochs', flags.epochs, positiveWhole, 'a positive whole number');
      const batchSize = number('--batch-size', flags.batchSize, positiveWhole, 'a positive whole number');
      if (!['sgd', 'adamw'].includes(flags.optimizer)) throw new CliError('R0607', `unknown optimizer '${flags.optimizer}'`, 2, 'the optimizers are sgd, adamw');
      const optimizer = flags.optimizer as OptimizerName;
      const adamw = optimizer === 'adamw';
      const notFor = (flag: string, which: OptimizerName, other: string): CliError => new CliError('R0615', `${flag} does not apply to --optimizer ${which}`, 2, other);
      if (adamw && flags.momentum !== undefined) throw notFor('--momentum', 'adamw', 'AdamW has betas instead (--betas)');
      if (adamw && flags.nesterov) throw notFor('--nesterov', 'adamw', 'Nesterov momentum is an option of SGD');
      if (!adamw && flags.betas !== undefined) throw notFor('--betas', 'sgd', 'betas are an option of --optimizer adamw');
      if (!adamw && flags.eps !== undefined) throw notFor('--eps', 'sgd', 'eps is an option of --optimizer adamw');
      const lr = number('--lr', flags.lr ?? String(adamw ? adamwDefaults.lr : 0.1), (n) => n > 0, 'a positive number');
      const momentum = adamw ? 0 : number('--momentum', flags.momentum ?? '0.9', (n) => n >= 0 && n < 1, 'in [0, 1)');
      if (flags.nesterov && momentum === 0) throw new CliError('R0615', '--nesterov needs momentum: --momentum is 0', 2, "Nesterov's step looks ahead along the momentum (PyTorch refuses it without)");
      const weightDecay = number('--weight-decay', flags.weightDecay ?? String(adamw ? adamwDefaults.weightDecay : 5e-4), (n) => n >= 0, 'zero or positive');
      const betas = flags.betas === undefined ? undefined : betaPair(flags.betas);
      const eps = flags.eps === undefined ? undefined : number('--eps', flags.eps, (n) => n > 0, 'a positive number');
      const warmup = number('--warmup', flags.warmup, whole, 'a whole number of epochs');
      if (warmup >= epochs) throw new CliError('R0616', `--warmup ${warmup} is as long as the run or longer (--epochs ${epochs})`, 2, `warm up for fewer epochs than --epochs, so that the schedule has steps to run`);
      const labelSmoothing = number('--label-smoothing', flags.labelSmoothing, (n) => n >= 0 && n <= 1, 'in [0, 1]');
      const seed = number('--seed', flags.seed, whole, 'a whole number');
      const limit = flags.limit === undefined ? undefined : number('--limit', flags.limit, positiveWhole, 'a positive whole number');
      if (!['cosine', 'step', 'constant'].includes(flags.schedule)) throw new CliError('R0607', `unknown schedule '${flags.schedule}'`, 2, 'the schedules are cosine, step, constant');
      if (!isBackendChoice(flags.backend)) throw new CliError('R0605', `unknown backend '${flags.backend}'`, 2, `the backends are ${backendChoices.join(', ')}`);
      if (flags.resume !== undefined && flags.weights !== undefined) throw new CliError('R0607', '--resume and --weights cannot be used together', 2, 'a checkpoint already holds the weights');

      const outDir = resolve(flags.out);
      const { model } = loadModel(file, flags.model, out, 'train', 'build');
      checkTrainableOutputs(model);
      const freeze = flags.freeze === undefined ? [] : flags.freeze.split(',').map((p) => p.trim()).filter((p) => p !== '');
      frozenTensors(model, freeze);

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
        optimizer,
        nesterov: flags.nesterov ?? false,
        ...(betas ? { betas } : {}),
        ...(eps !== undefined ? { eps } : {}),
        warmup,
        labelSmoothing,
        freeze,
        freezeNorms: flags.freezeNorms ?? false,
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

      const initial = flags.weights !== undefined ? await weightSource(model, { path: flags.weights, seed, zeroInitResidual: false, strict: flags.strictWeights ?? false }, out) : undefined;
      checkTrainOutputs(outDir);

      const threads = backendThreads();
      const onThreads = threads === undefined ? '' : ` (${threads} thread${threads === 1 ? '' : 's'})`;
      out.err(`training ${model.name} on ${data.description} (${data.train.count} train, ${data.test.count} test) with backend ${backend}${onThreads}\n`);

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
              printWarning(out, code, message);
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
