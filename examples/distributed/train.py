"""Trains a model written by `resnetc compile --target pytorch` on one
process or many: DistributedDataParallel, launched by torchrun.

    torchrun --nproc_per_node 8 examples/distributed/train.py model.py \\
        --data DIR --out runs/x --epochs 90 --batch-size 1024 --lr 0.4

The recipe is `resnetc train`'s (SGD with momentum and weight decay as
torch.optim.SGD computes them, a cosine, step or constant schedule stepped
every batch, pad-and-crop and flips), and so are the outputs: OUT/checkpoint
(model.safetensors, which `resnetc compile --weights` reads, the momentum
buffers and state.json), OUT/model.safetensors at the end, metrics.csv,
metrics.jsonl and plot.svg. --batch-size is the global batch, the examples of
one optimizer step over all processes, as in `resnetc train`; each process
takes batch-size / processes of them. See README.md.

Needs torch only (torchvision for an ImageFolder tree). Rank 0 reads and
writes every file but the data, so the nodes of a cluster need no shared
disk for checkpoints.
"""
import argparse
import contextlib
import importlib.util
import math
import os
import shutil
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

import checkpoint
import data
import metrics
import safetensors_io

PRODUCER = 'resnetc examples/distributed/train.py'


class UsageError(Exception):
    """A bad command line: exit status 2."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='Train a model of `resnetc compile --target pytorch` '
                    'with DistributedDataParallel (launch with torchrun).')
    a = p.add_argument
    a('model', help='the Python module resnetc wrote (model.py)')
    a('--data', required=True,
      help='a directory of IDX files (gzipped or not), CIFAR-10 binary '
           'batches, or an ImageFolder tree (train/, val/)')
    a('--out', required=True,
      help='where the checkpoint, final weights, metrics and plot go')
    a('--epochs', type=int, default=10, help='epochs to train (10)')
    a('--batch-size', type=int, default=64,
      help='examples per optimizer step over all processes (64); each '
           'process takes batch-size / processes')
    a('--lr', type=float, default=0.1, help='peak learning rate (0.1)')
    a('--momentum', type=float, default=0.9, help='SGD momentum (0.9)')
    a('--weight-decay', type=float, default=5e-4,
      help='L2 weight decay, PyTorch convention, on every parameter (5e-4)')
    a('--schedule', choices=['cosine', 'step', 'constant'], default='cosine',
      help='learning rate by step: cosine to 0; step: x0.1 at 50%% and '
           'x0.01 at 75%% of the run; constant (cosine)')
    a('--augment', action='store_true',
      help='random shifts (pad 4, crop) and flips; RandomResizedCrop and '
           'flips for an ImageFolder tree')
    a('--seed', type=int, default=0,
      help='seed of the initialisation, the shuffling and the augmentation')
    a('--limit', type=int, help='use only the first N examples of each split')
    a('--resume', nargs='?', const=True, metavar='DIR',
      help='continue from a checkpoint (default: OUT/checkpoint)')
    a('--weights', metavar='FILE.safetensors',
      help='start from these weights (a state_dict under the module\'s '
           'names: resnetc compile --target safetensors, torchvision\'s)')
    a('--zero-init-residual', action='store_true',
      help="start each residual branch's last norm scale at 0")
    a('--amp', choices=['auto', 'off', 'bf16', 'fp16'], default='auto',
      help='mixed precision (torch.autocast): bf16, or fp16 with a '
           'GradScaler; auto: bf16 on GPUs that have it, else fp16, and off '
           'on the CPU, where only bf16 exists')
    a('--sync-bn', action='store_true',
      help='batch statistics over all processes (SyncBatchNorm; GPUs only)')
    a('--device', choices=['auto', 'cuda', 'cpu'], default='auto',
      help='auto: the GPU of LOCAL_RANK where CUDA is, else the CPU')
    a('--checkpoint-every', type=int, default=0, metavar='STEPS',
      help='also write a checkpoint every STEPS optimizer steps (0: at the '
           'end of each epoch only)')
    a('--keep-checkpoints', action='store_true',
      help='keep every checkpoint, as OUT/checkpoints/epoch-E (after epoch '
           'E) and epoch-E-step-S (within it), not only the last')
    a('--stop-after', type=int, metavar='STEPS',
      help='stop after STEPS steps of this run, writing a checkpoint (for a '
           "cluster's time limit: the same command with --resume goes on)")
    a('--workers', type=int, default=4,
      help='DataLoader processes per process, for an ImageFolder tree (4)')
    a('--eval-batch-size', type=int, default=256,
      help='examples per process per step of the evaluation (256)')
    a('--print-every', type=int, default=50, metavar='STEPS',
      help='progress line every STEPS steps, by rank 0 (50; 0: none)')
    a('--no-plot', action='store_true',
      help='do not draw plot.svg at the end (it needs Node)')
    a('--save-replicas', action='store_true',
      help='at the end, every process writes its state_dict and momentum '
           'buffers to OUT/replicas/rank-K.safetensors (they must agree)')
    args = p.parse_args(argv)
    positive = ['epochs', 'batch_size', 'eval_batch_size']
    whole = ['seed', 'checkpoint_every', 'workers', 'print_every']
    for name in positive + ['limit', 'stop_after']:
        v = getattr(args, name)
        if v is not None and v <= 0:
            p.error(f"--{name.replace('_', '-')} must be a positive whole "
                    f'number, not {v}')
    for name in whole:
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be 0 or more")
    if not args.lr > 0:
        p.error(f'--lr must be a positive number, not {args.lr}')
    if not 0 <= args.momentum < 1:
        p.error(f'--momentum must be in [0, 1), not {args.momentum}')
    if not args.weight_decay >= 0:
        p.error(f'--weight-decay must be 0 or more, not {args.weight_decay}')
    if args.resume is not None and args.weights is not None:
        p.error('--resume and --weights cannot be used together: a '
                'checkpoint already holds the weights')
    return args


# ---- processes ----

class World:
    """This process's place: rank, world size, device; the process group
    (gloo on CPUs, NCCL on GPUs) when torchrun started it."""

    def __init__(self, device_choice):
        self.rank = int(os.environ.get('RANK', '0'))
        self.size = int(os.environ.get('WORLD_SIZE', '1'))
        local_rank = int(os.environ.get('LOCAL_RANK', '0'))
        cuda = torch.cuda.is_available()
        if device_choice == 'cuda' and not cuda:
            raise UsageError('--device cuda: torch finds no CUDA GPU here')
        if cuda and device_choice != 'cpu':
            torch.cuda.set_device(local_rank)
            # The fastest convolution for the input's fixed size.
            torch.backends.cudnn.benchmark = True
            self.device = torch.device('cuda', local_rank)
            self.backend = 'nccl'
        else:
            self.device = torch.device('cpu')
            self.backend = 'gloo'
        self.distributed = 'RANK' in os.environ
        if self.distributed:
            dist.init_process_group(self.backend)

    def all_reduce(self, t):
        if self.distributed:
            dist.all_reduce(t)
        return t

    def all_gather(self, t):
        """Every process's `t`, in rank order, as lists."""
        if not self.distributed:
            return [t.tolist()]
        parts = [torch.empty_like(t) for _ in range(self.size)]
        dist.all_gather(parts, t)
        return [p.tolist() for p in parts]

    def broadcast(self, t):
        if self.distributed:
            dist.broadcast(t, 0)
        return t

    def share(self, obj):
        """Rank 0's `obj`, on every process."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, 0)
        return box[0]

    def say(self, text, stream=sys.stdout):
        if self.rank == 0:
            print(text, file=stream, flush=True)


def on_rank_0(world, what):
    """Runs what() on rank 0 and gives every process its result; a file
    that cannot be read or used there stops every process alike."""
    result = None
    if world.rank == 0:
        try:
            result = ('ok', what())
        except (checkpoint.CheckpointError, safetensors_io.SafetensorsError,
                OSError) as e:
            result = ('error', str(e))
    result = world.share(result)
    if result[0] == 'error':
        raise checkpoint.CheckpointError(result[1])
    return result[1]


# ---- the model ----

def load_module(path):
    """The module `resnetc compile --target pytorch` wrote."""
    if not os.path.isfile(path):
        raise UsageError(f"cannot find the model module '{path}': write it "
                         'with resnetc compile SPEC --target pytorch -o '
                         f'{path}')
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not all(hasattr(module, a) for a in ('build', 'INPUT', 'CLASSES')):
        raise UsageError(f"'{path}' is not a module of resnetc compile "
                         '--target pytorch (it has no build, INPUT, CLASSES)')
    module.NAME = getattr(module, 'NAME', name)
    return module


def logits_of(y):
    """The logits among a module's outputs: a module compiled from a spec
    with `outputs` returns a dict of them, in which `logits` is the head's
    (load_data refuses a module without a head)."""
    return y['logits'] if isinstance(y, dict) else y


def load_weights(model, state, where):
    """Loads a state_dict into the model; every key must fit, but a file
    without num_batches_tracked (which resnetc does not count) is taken."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes
        raise checkpoint.CheckpointError(f'{where} does not fit the model: '
                                         f'{e}')
    missing = [k for k in result.missing_keys
               if not k.endswith('num_batches_tracked')]
    if missing or result.unexpected_keys:
        raise checkpoint.CheckpointError(
            f'{where} does not fit the model: '
            + '; '.join(f'{what} {", ".join(keys[:4])}'
                        + (f' and {len(keys) - 4} more' if len(keys) > 4
                           else '')
                        for what, keys in (('missing', missing),
                                           ('not in the model',
                                            result.unexpected_keys))
                        if keys)
            + ': compile the spec that describes these weights')


def momentum_buffers(model, optimizer):
    """SGD's momentum buffers by parameter name (those that exist)."""
    out = {}
    for name, p in model.named_parameters():
        buf = optimizer.state.get(p, {}).get('momentum_buffer')
        if buf is not None:
            out[name] = buf
    return out


def set_momentum(world, model, optimizer, names, tensors):
    """Rank 0's momentum buffers (`tensors`, by name) into every process's
    optimizer."""
    params = dict(model.named_parameters())
    for name in names:
        p = params[name]
        buf = tensors[name].to(world.device, p.dtype) if world.rank == 0 \
            else torch.empty_like(p)
        optimizer.state[p]['momentum_buffer'] = world.broadcast(buf)


# ---- the recipe ----

def learning_rate(base, schedule, progress):
    """The learning rate at a fraction `progress` (0..1) of the run, as
    resnetc train's (src/train/optimizer.ts): cosine to 0 along a half
    cosine; step: x0.1 at 50%, x0.01 at 75%; constant."""
    if schedule == 'cosine':
        return base * 0.5 * (1 + math.cos(math.pi * min(1, progress)))
    if schedule == 'step':
        return base * (0.01 if progress >= 0.75 else
                       0.1 if progress >= 0.5 else 1)
    return base


def step_seed(seed, epoch, step, rank):
    """The seed of one step of one process (augmentation, dropout): the
    same for the same step whether or not the run was resumed."""
    return (((seed * 1_000_003 + epoch) * 1_000_003 + step) * 1_000_003
            + rank) % 2 ** 63


def precision(choice, device):
    """The autocast dtype, or None for float32."""
    if choice == 'auto':
        if device.type != 'cuda':
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() \
            else torch.float16
    if choice == 'fp16' and device.type != 'cuda':
        raise UsageError('--amp fp16 needs GPUs: autocast on the CPU '
                         'computes in bfloat16 only (--amp bf16)')
    return {'off': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[
        choice]


def grad_scaler(enabled):
    """A GradScaler (loss scaling for float16), a no-op when not enabled."""
    if hasattr(torch.amp, 'GradScaler'):  # torch >= 2.3
        return torch.amp.GradScaler('cuda', enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def recipe_of(args, world):
    """What must stay the same for a resumed run to continue as the
    uninterrupted one would (the epochs may grow)."""
    return {k: getattr(args, k) for k in (
        'batch_size', 'lr', 'momentum', 'weight_decay', 'schedule',
        'augment', 'seed', 'limit', 'amp', 'sync_bn')} | {
        'world_size': world.size}


def duration(seconds):
    s = round(seconds)
    if s < 60:
        return f'{s}s'
    if s < 3600:
        return f'{s // 60}m{s % 60:02d}s'
    return f'{s // 3600}h{s % 3600 // 60:02d}m'


# ---- training ----

def evaluate(model, split, world, autocast, batch_size):
    """(mean loss, accuracy) on a split, inference mode, the split shared
    out over the processes (rank k takes examples k, k + size, …)."""
    model.eval()
    indices = list(range(world.rank, len(split), world.size))
    index_batches = [indices[i:i + batch_size]
                     for i in range(0, len(indices), batch_size)]
    sums = torch.zeros(3, dtype=torch.float64, device=world.device)
    with torch.no_grad():
        for x, y in split.batches(index_batches, False, None):
            x = x.to(world.device).float().div_(255)
            y = y.to(world.device)
            with autocast():
                logits = logits_of(model(x)).float()
            sums[0] += F.cross_entropy(logits, y, reduction='sum').double()
            sums[1] += (logits.argmax(1) == y).sum()
            sums[2] += len(y)
    model.train()
    loss, correct, count = world.all_reduce(sums).tolist()
    return loss / count, correct / count


def load_data(args, module):
    """(train, test, description): the data, checked against the model's
    input and classes."""
    name = module.NAME
    train, test, what = data.load(args.data, tuple(module.INPUT), args.limit,
                                  args.workers, args.augment)
    c, h, w = module.INPUT
    if tuple(train.shape) != (c, h, w):
        got = 'x'.join(map(str, train.shape))
        raise data.DataError(f'{what} has {got} images but model {name!r} '
                             f'takes input {c}x{h}x{w}: write `input {got}` '
                             'in the spec and compile it again')
    if module.CLASSES is None:
        raise data.DataError(f'model {name!r} has no head to classify with: '
                             'add `classes N` to the spec (and `logits` to '
                             'its `outputs`, if it lists them)')
    classes = data.classes_of(train, test)
    if classes > module.CLASSES:
        raise data.DataError(f'{what} has {classes} classes but model '
                             f'{name!r} has {module.CLASSES}: write '
                             f'`classes {classes}` in the spec')
    if not len(train) or not len(test):
        raise data.DataError(f'{what} has no examples in one of its splits')
    return train, test, what


FRESH = {'epoch': 0, 'step': 0, 'metrics': [], 'partial': None,
         'seconds': 0.0, 'scaler': {}, 'momentum': []}


def restore(args, world, model, name, recipe):
    """Where the run starts: (state, momentum buffers by name) from the
    checkpoint of --resume, read by rank 0, whose model takes its weights
    (DDP gives them to the others); FRESH, with --weights in rank 0's model
    if given, otherwise."""
    momentum = {}
    if args.weights is not None:
        def read_weights():
            weights, _ = safetensors_io.load(args.weights)
            load_weights(model, weights, f"'{args.weights}'")
        on_rank_0(world, read_weights)
    if args.resume is None:
        return dict(FRESH, metrics=[]), momentum
    where = os.path.join(args.out, 'checkpoint') if args.resume is True \
        else args.resume

    def read():
        model_state, buffers, saved = checkpoint.load(where)
        if saved['model'] != name:
            raise checkpoint.CheckpointError(
                f"the checkpoint in '{where}' is of model "
                f"{saved['model']!r}, not {name!r}")
        load_weights(model, model_state, f"the checkpoint in '{where}'")
        params = dict(model.named_parameters())
        for k in saved['momentum']:
            if k not in params or k not in buffers \
                    or buffers[k].shape != params[k].shape:
                raise checkpoint.CheckpointError(
                    f"the checkpoint in '{where}' is damaged: its momentum "
                    f'buffer {k!r} is missing or does not fit')
        momentum.update(buffers)
        return saved

    state = on_rank_0(world, read)
    if state['epoch'] >= args.epochs:
        raise checkpoint.CheckpointError(
            f"the checkpoint has already trained {state['epoch']} of "
            f"{args.epochs} epochs: raise --epochs above {state['epoch']}")
    changed = {k: f'{k} {state["recipe"].get(k)} -> {v}'
               for k, v in recipe.items() if state['recipe'].get(k) != v}
    if state['step'] and ('batch_size' in changed or 'world_size' in changed):
        raise checkpoint.CheckpointError(
            f"the checkpoint stopped within epoch {state['epoch'] + 1}, whose "
            'batches depend on the global batch and the number of processes '
            f'({", ".join(changed.values())}): resume with --batch-size '
            f"{state['recipe']['batch_size']} on "
            f"{state['recipe']['world_size']} processes")
    if changed:
        world.say('warning: the recipe differs from the checkpoint\'s '
                  f'({", ".join(changed.values())}): the run goes on with '
                  'this one', sys.stderr)
    world.say(f"resuming from '{where}': epoch {state['epoch'] + 1}, step "
              f"{state['step'] + 1}", sys.stderr)
    return state, momentum


class Run:
    """One training run on this process: the model and its DDP wrapper,
    the optimizer and GradScaler, the data, where the run stands."""

    def __init__(self, args, world):
        self.args, self.world = args, world
        module = load_module(args.model)
        self.name = name = module.NAME
        self.amp = precision(args.amp, world.device)
        if args.sync_bn and world.device.type != 'cuda':
            raise UsageError("--sync-bn needs GPUs: torch's SyncBatchNorm "
                             'runs on CUDA only')
        if args.batch_size % world.size:
            raise UsageError(f'--batch-size {args.batch_size} is the global '
                             f'batch: it must divide by the {world.size} '
                             'processes')
        self.per_process = args.batch_size // world.size
        self.train, self.test, self.what = load_data(args, module)
        self.sampler = DistributedSampler(
            range(len(self.train)), num_replicas=world.size, rank=world.rank,
            shuffle=True, seed=args.seed)
        self.steps_per_epoch = math.ceil(self.sampler.num_samples
                                         / self.per_process)
        self.total_steps = self.steps_per_epoch * args.epochs
        world.say(self.describe(), sys.stderr)

        torch.manual_seed(args.seed)
        self.model = module.build(zero_init_residual=args.zero_init_residual)
        self.recipe = recipe_of(args, world)
        state, momentum = restore(args, world, self.model, name, self.recipe)
        self.state = state
        if args.sync_bn and world.distributed:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
                self.model)
        self.model.to(world.device)
        # DDP gives every process rank 0's parameters and buffers.
        self.trained = DistributedDataParallel(
            self.model, device_ids=[world.device.index]
            if world.backend == 'nccl' else None) \
            if world.distributed else self.model
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=args.lr, momentum=args.momentum,
            weight_decay=args.weight_decay)
        set_momentum(world, self.model, self.optimizer, state['momentum'],
                     momentum)
        self.scaler = grad_scaler(self.amp == torch.float16)
        if state['scaler']:
            self.scaler.load_state_dict(state['scaler'])
        self.rows = state['metrics']
        self.metadata = {'format': 'pt', 'producer': PRODUCER, 'model': name}
        self.checkpoint = os.path.join(args.out, 'checkpoint')
        self.steps_this_run = 0
        self.lr = args.lr

    def autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.world.device.type, dtype=self.amp)

    def describe(self):
        world, args = self.world, self.args
        amp = {None: 'off', torch.bfloat16: 'bf16', torch.float16: 'fp16'}
        sync = args.sync_bn and world.distributed
        return (f'training {self.name} on {self.what} ({len(self.train)} '
                f'train, {len(self.test)} test): {world.size} process'
                f'{"es" if world.size > 1 else ""} ({world.backend}, '
                f'{world.device.type}), global batch {args.batch_size} = '
                f'{world.size} x {self.per_process}, {self.steps_per_epoch} '
                f'steps an epoch, amp {amp[self.amp]}, SyncBatchNorm '
                f'{"on" if sync else "off"}')

    def save(self, epoch, step, sums, seconds):
        """A checkpoint with `epoch` epochs done and `step` steps into the
        next (0 at an epoch's end); every process calls it."""
        partial = self.world.all_gather(sums) if step else None
        if self.world.rank != 0:
            return
        buffers = momentum_buffers(self.model, self.optimizer)
        checkpoint.save(self.checkpoint, self.model.state_dict(), buffers, {
            'model': self.name, 'epoch': epoch, 'step': step,
            'steps_per_epoch': self.steps_per_epoch, 'recipe': self.recipe,
            'metrics': self.rows, 'partial': partial, 'seconds': seconds,
            'scaler': self.scaler.state_dict(), 'momentum': list(buffers)},
            self.metadata | {'epoch': str(epoch)})
        if self.args.keep_checkpoints:
            kept = f'epoch-{epoch + 1}-step-{step}' if step \
                else f'epoch-{epoch}'
            kept = os.path.join(self.args.out, 'checkpoints', kept)
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(self.checkpoint, kept)

    def step(self, x, y, sums):
        """One optimizer step on this process's part of the global batch."""
        x = x.to(self.world.device, non_blocking=True).float().div_(255)
        y = y.to(self.world.device, non_blocking=True)
        with self.autocast():
            logits = logits_of(self.trained(x)).float()
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        sums[0] += loss.detach().double() * len(y)
        sums[1] += (logits.detach().argmax(1) == y).sum()
        sums[2] += len(y)

    def epoch(self, epoch, first):
        """Trains epoch `epoch` from step `first`; False when --stop-after
        ended the run within it (after writing a checkpoint)."""
        args, world = self.args, self.world
        steps = self.steps_per_epoch
        self.sampler.set_epoch(epoch)
        indices = list(self.sampler)
        index_batches = [indices[i:i + self.per_process]
                         for i in range(0, len(indices), self.per_process)]
        sums = torch.zeros(3, dtype=torch.float64, device=world.device)
        carried = 0.0
        if first:
            sums += torch.tensor(self.state['partial'][world.rank],
                                 dtype=torch.float64, device=world.device)
            carried = self.state['seconds']
        start = time.perf_counter()
        seeds = [step_seed(args.seed, epoch, k, world.rank)
                 for k in range(steps)]
        batches = self.train.batches(index_batches[first:], args.augment,
                                     seeds[first:])
        for step in range(first, steps):
            torch.manual_seed(seeds[step])  # dropout's draws
            x, y = next(batches)
            self.lr = learning_rate(args.lr, args.schedule,
                                    (epoch * steps + step) / self.total_steps)
            for group in self.optimizer.param_groups:
                group['lr'] = self.lr
            self.step(x, y, sums)
            self.steps_this_run += 1
            done = step + 1
            if args.print_every and done % args.print_every == 0:
                self.progress(epoch, done, sums)
            if done == steps:
                break
            stopping = args.stop_after is not None and \
                self.steps_this_run >= args.stop_after
            if stopping or (args.checkpoint_every and (epoch * steps + done)
                            % args.checkpoint_every == 0):
                self.save(epoch, done, sums,
                          carried + time.perf_counter() - start)
            if stopping:
                return False
        self.end_epoch(epoch, sums, carried + time.perf_counter() - start)
        return True

    def progress(self, epoch, done, sums):
        """Rank 0's line: its own running loss and accuracy, the global
        rate and what is left."""
        args = self.args
        loss_sum, correct, seen = sums.tolist()
        elapsed = time.perf_counter() - self.started
        rate = self.steps_this_run * args.batch_size / elapsed
        left = (self.total_steps - epoch * self.steps_per_epoch - done) \
            * args.batch_size / rate
        self.world.say(f'epoch {epoch + 1}/{args.epochs} step {done}/'
                       f'{self.steps_per_epoch} | loss {loss_sum / seen:.4f} '
                       f'| acc {100 * correct / seen:.1f}% | {rate:.1f} img/s '
                       f'| ETA {duration(left)}', sys.stderr)

    def end_epoch(self, epoch, sums, seconds):
        """The epoch's metrics row, its checkpoint and metrics files."""
        world = self.world
        # The model every process evaluates, and rank 0 saves, is rank 0's:
        # the parameters agree (DDP), the running statistics become rank 0's.
        for b in self.model.buffers():
            world.broadcast(b)
        loss_sum, correct, seen = world.all_reduce(sums).tolist()
        test_loss, test_accuracy = evaluate(
            self.model, self.test, world, self.autocast,
            self.args.eval_batch_size)
        row = {'epoch': epoch + 1, 'lr': self.lr,
               'trainLoss': loss_sum / seen, 'trainAccuracy': correct / seen,
               'testLoss': test_loss, 'testAccuracy': test_accuracy,
               'seconds': seconds, 'imagesPerSecond': seen / seconds}
        self.rows.append(row)
        world.say(f'epoch {epoch + 1}: train loss {row["trainLoss"]:.4f} acc '
                  f'{100 * row["trainAccuracy"]:.2f}% | test loss '
                  f'{test_loss:.4f} acc {100 * test_accuracy:.2f}% | '
                  f'{row["imagesPerSecond"]:.1f} img/s, {seconds:.1f}s')
        self.save(epoch + 1, 0, sums, 0.0)
        if world.rank == 0:
            metrics.write(self.args.out, self.rows)

    def train_all(self):
        """Trains to the last epoch, or until --stop-after; True when the
        run ended, False when it stopped."""
        args = self.args
        self.started = time.perf_counter()
        start_epoch, first = self.state['epoch'], self.state['step']
        for epoch in range(start_epoch, args.epochs):
            if not self.epoch(epoch, first if epoch == start_epoch else 0):
                return False
            if args.stop_after is not None and \
                    self.steps_this_run >= args.stop_after \
                    and epoch + 1 < args.epochs:
                return False
        return True

    def save_replica(self):
        """This process's state_dict and momentum buffers, to compare."""
        directory = os.path.join(self.args.out, 'replicas')
        os.makedirs(directory, exist_ok=True)
        buffers = momentum_buffers(self.model, self.optimizer)
        tensors = self.model.state_dict() | {f'momentum.{k}': v
                                             for k, v in buffers.items()}
        safetensors_io.save(tensors, os.path.join(
            directory, f'rank-{self.world.rank}.safetensors'))

    def finish(self):
        """Rank 0: the final weights, the plot, the last line."""
        args, name = self.args, self.name
        final = os.path.join(args.out, 'model.safetensors')
        safetensors_io.save(self.model.state_dict(), final,
                            self.metadata | {'epoch': str(args.epochs)})
        why = 'not asked for' if args.no_plot else metrics.plot(args.out,
                                                                name)
        plot = 'plot.svg' if why is None else (
            f'no plot.svg ({why}: draw it with '
            f'{" ".join(metrics.plot_command(args.out, name))})')
        accuracy = self.rows[-1]['testAccuracy']
        self.world.say(f"wrote {final} ({name}'s state_dict), metrics.csv, "
                       f'metrics.jsonl, {plot} in {args.out}; test accuracy '
                       f'{100 * accuracy:.2f}%')


def run(args, world):
    if world.rank == 0:
        os.makedirs(args.out, exist_ok=True)
    r = Run(args, world)
    ended = r.train_all()
    if args.save_replicas:
        r.save_replica()
    if not ended:
        world.say(f'stopped after {r.steps_this_run} steps: checkpoint in '
                  f'{r.checkpoint}; continue with --resume', sys.stderr)
    elif world.rank == 0:
        r.finish()


def main(argv=None):
    args = parse_args(argv)
    world = None
    try:
        world = World(args.device)
        run(args, world)
        return 0
    except (UsageError, data.DataError, checkpoint.CheckpointError,
            safetensors_io.SafetensorsError) as e:
        where = f'[rank {world.rank}] ' if world and world.size > 1 else ''
        print(f'{where}error: {e}', file=sys.stderr, flush=True)
        return 2 if isinstance(e, UsageError) else 1
    finally:
        if world and world.distributed:
            dist.destroy_process_group()


if __name__ == '__main__':
    sys.exit(main())
