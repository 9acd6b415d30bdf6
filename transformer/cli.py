"""The command line: `python -m transformer train | tasks | generate | bench`.

    python -m transformer tasks
    python -m transformer train --task reverse --length 8 --arch decoder --until-acc 0.99 --save rev.pt
    python -m transformer train --task addition --json            # one JSON object per evaluation
    python -m transformer generate --checkpoint rev.pt --input "abcde"
    python -m transformer generate --checkpoint rev.pt --input "abcde" --beam 3 --json
    python -m transformer generate --checkpoint lm.pt --input "The " --temperature 0.8 --top-p 0.9 --json
    python -m transformer bench --quick

Every setting not given comes from the task's preset for the architecture, so `train --task X`
alone trains something that works. Mistakes (an unknown task, a bad size, a broken checkpoint)
print one sentence to stderr and exit with status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

EXIT_USAGE = 2
EXIT_DIVERGED = 1
EXIT_BROKEN_PIPE = 1  # as Python's documentation on SIGPIPE suggests
MAX_NEW_TOKENS = 10_000  # characters `generate` writes at most (about 20 s on one CPU core)
DEFAULT_NEW_TOKENS = 200

MODEL_OPTIONS = {  # flag -> (ModelConfig field, type, help)
    "--d-model": ("d_model", int, "width of the model (hidden size for recurrent models)"),
    "--n-heads": ("n_heads", int, "attention heads per layer"),
    "--n-layers": ("n_layers", int, "number of blocks (or stacked recurrent layers)"),
    "--d-ff": ("d_ff", int, "hidden width of the feed-forward network"),
    "--dropout": ("dropout", float, "dropout probability"),
    "--pos-encoding": ("pos_encoding", str, "sinusoidal | learned | rope | none"),
    "--norm": ("norm", str, "pre | post (where LayerNorm sits)"),
    "--activation": ("activation", str, "gelu | relu"),
    "--tie-weights": ("tie_weights", bool, "one tensor for the token embedding and the output layer (decoder, encoder-decoder)"),
}
TRAIN_OPTIONS = {  # flag -> (TrainConfig field, type, help)
    "--steps": ("steps", int, "optimizer steps"),
    "--batch-size": ("batch_size", int, "examples per step"),
    "--lr": ("lr", float, "peak learning rate"),
    "--warmup": ("warmup", int, "linear warmup steps"),
    "--schedule": ("schedule", str, "cosine | inverse_sqrt | constant"),
    "--weight-decay": ("weight_decay", float, "AdamW weight decay (matrices only)"),
    "--grad-clip": ("grad_clip", float, "clip the gradient norm to this (0: off)"),
    "--eval-every": ("eval_every", int, "steps between evaluations"),
    "--eval-size": ("eval_size", int, "validation examples"),
    "--seed": ("seed", int, "random seed (weights and data)"),
    "--device": ("device", str, "auto | cpu | cuda | mps"),
    "--until-acc": ("until_acc", float, "stop when validation accuracy (--until-metric) reaches this (0-1)"),
    "--until-metric": ("until_metric", str, "seq_acc (default) | token_acc"),
    "--max-seconds": ("max_seconds", float, "stop after this many seconds of training"),
    "--threads": ("threads", int, "CPU threads (default: PyTorch's choice)"),
    "--train-size": ("train_size", int, "train on N fixed examples, epoch after epoch (default: fresh ones every step)"),
    "--early-stop": ("early_stop", int, "stop after PATIENCE evaluations without a lower validation loss; keep the best weights"),
    "--init-from": ("init_from", str, "start from this checkpoint's weights where names and shapes match (transfer)"),
    "--freeze-body": ("freeze_body", bool, "train only the output head (with --init-from: fine-tune the head)"),
}
METAVARS = {"--train-size": "N", "--early-stop": "PATIENCE", "--init-from": "CHECKPOINT"}


def _task_params() -> dict[str, type]:
    """Every task parameter of every task, with its type (they become --flags of `train`)."""
    from .tasks import TASKS

    found: dict[str, type] = {}
    for cls in TASKS.values():
        for name, default in cls.params.items():
            found.setdefault(name, type(default))
    return found


def build_parser() -> argparse.ArgumentParser:
    from .tasks import TASKS

    parser = argparse.ArgumentParser(prog="python -m transformer", description="Transformer Lab from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="{train,tasks,generate,bench}")
    sub.required = True

    train = sub.add_parser("train", help="train a model on a task")
    train.add_argument("--task", required=True, help=f"one of: {', '.join(TASKS)}")
    train.add_argument("--arch", help="architecture (default: the task's recommended one)")
    group = train.add_argument_group("task parameters (each task uses some; see `tasks`)")
    for name, kind in _task_params().items():
        group.add_argument("--" + name.replace("_", "-"), dest="task_" + name, type=kind, default=None)
    group.add_argument("--text-file", help="charlm: train on this UTF-8 text file instead of the built-in text")
    group = train.add_argument_group("model (default: the task's preset)")
    for flag, (field, kind, text) in MODEL_OPTIONS.items():
        if kind is bool:  # a switch, as in TRAIN_OPTIONS
            group.add_argument(flag, dest="model_" + field, action="store_const", const=True, default=None, help=text)
        else:
            group.add_argument(flag, dest="model_" + field, type=kind, default=None, help=text)
    group = train.add_argument_group("training (default: the task's preset)")
    for flag, (field, kind, text) in TRAIN_OPTIONS.items():
        if kind is bool:  # a switch: given means True, absent leaves the preset's value
            group.add_argument(flag, dest="train_" + field, action="store_const", const=True, default=None, help=text)
        else:
            group.add_argument(flag, dest="train_" + field, type=kind, default=None, help=text, metavar=METAVARS.get(flag))
    train.add_argument("--json", action="store_true", help="print one JSON object per evaluation")
    train.add_argument("--save", metavar="PATH", help="save the trained model to this checkpoint file")

    tasks = sub.add_parser("tasks", help="list the tasks")
    tasks.add_argument("--json", action="store_true", help="print a JSON list")

    gen = sub.add_parser("generate", help="answer an input with a saved model")
    gen.add_argument("--checkpoint", required=True, metavar="PATH")
    gen.add_argument("--input", required=True, help="the question (or, for charlm, the text to continue)")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); higher = more random")
    gen.add_argument("--top-k", type=int, default=None, help="sample only among the k most likely tokens")
    gen.add_argument("--top-p", type=float, default=None,
                     help="sample only among the most likely tokens whose probabilities add up to p (0-1, nucleus)")
    gen.add_argument("--beam", type=int, default=None, metavar="N",
                     help="beam search: the N most probable answers, best first (no sampling)")
    gen.add_argument("--max-new-tokens", type=int, default=None, help="charlm: characters to write (default 200)")
    gen.add_argument("--seed", type=int, default=0, help="seed for sampling")
    gen.add_argument("--json", action="store_true",
                     help="print a JSON object with the trace: each token's top candidates and their probabilities")

    bench = sub.add_parser("bench", help="benchmark our transformer against torch.nn.TransformerEncoder")
    bench.add_argument("--quick", action="store_true", help="a short run that checks the benchmark works")
    bench.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    bench.add_argument("--json", action="store_true", help="also print the results as JSON")
    return parser


# --------------------------------------------------------------------------- train


def configs_from_args(args):
    """-> (task, ModelConfig, TrainConfig): the preset, overridden by the flags given."""
    from .tasks import TASKS, get_task
    from .presets import preset_configs
    from .training import run_configs

    if args.task not in TASKS:
        raise ValueError(f"Unknown task '{args.task}': choose one of {', '.join(TASKS)}.")
    params = {k[5:]: v for k, v in vars(args).items() if k.startswith("task_") and v is not None}
    if args.text_file:
        if args.task != "charlm":
            raise ValueError("--text-file is only for the charlm task.")
        params["text"] = read_text_file(args.text_file)
    task = get_task(args.task, **params)
    model_cfg, train_cfg = preset_configs(task, args.arch)
    model_cfg = replace(model_cfg, **{f: v for f, _, _ in MODEL_OPTIONS.values() if (v := getattr(args, "model_" + f)) is not None})
    train_cfg = replace(train_cfg, **{f: v for f, _, _ in TRAIN_OPTIONS.values() if (v := getattr(args, "train_" + f)) is not None})
    # Every check, the memory budget included, before anything is built or trained.
    model_cfg, train_cfg = run_configs(task, model_cfg, train_cfg)
    return task, model_cfg, train_cfg


def read_text_file(path: str) -> str:
    """A UTF-8 text file for charlm, read only up to the task's limit (/dev/zero never ends)."""
    from .tasks.charlm import MAX_TEXT_CHARS

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_TEXT_CHARS + 1)  # characters, not bytes
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"Cannot read the text file '{path}' ({err.__class__.__name__}): give a UTF-8 text file.") from None
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"The text file '{path}' has more than {MAX_TEXT_CHARS:,} characters: give a shorter text.")
    return text


def check_save_path(path: str) -> Path:
    """Check, before training, that a checkpoint can be written at `path`; ValueError if not.

    Makes the missing folders (as saving would) and writes and removes a temporary file in the
    folder, the only test that also holds for read-only mounts, /proc and the like.
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"--save needs a file name, and '{path}' is a folder: use for example '{target / 'model.pt'}'.")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        if target.exists() and not os.access(target, os.W_OK):
            raise PermissionError(f"'{path}' is read-only")
    except OSError as err:
        raise ValueError(
            f"Cannot save to '{path}' ({err.__class__.__name__}: {err.strerror or err}): choose a file in a folder you can write to."
        ) from None
    return target


class JsonLines:
    """Callback: one JSON object per evaluation on stdout."""

    KEYS = ("step", "loss", "val_loss", "token_acc", "seq_acc", "train_loss", "train_token_acc", "train_seq_acc",
            "epoch", "lr", "elapsed_s", "tokens_per_s")

    def on_eval(self, trainer, row):
        print(json.dumps({k: row.get(k) for k in self.KEYS}), flush=True)


class ProgressBar:
    """Callback: a one-line progress bar on a terminal, or a line per evaluation in a log."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width = stream or sys.stderr, width
        self.tty = self.stream.isatty()
        self.last_draw = 0.0
        self.last_eval = None

    def on_step(self, trainer, row):
        now = time.perf_counter()
        if self.tty and (now - self.last_draw > 0.1 or row["step"] == trainer.cfg.steps):
            self.last_draw = now
            self.stream.write("\r" + self.line(trainer, row))
            self.stream.flush()

    def on_eval(self, trainer, row):
        self.last_eval = row
        if not self.tty:
            self.stream.write(self.line(trainer, row) + "\n")
            self.stream.flush()

    def line(self, trainer, row):
        total = trainer.cfg.steps
        done = int(self.width * row["step"] / total)
        recent = trainer.history[-20:]
        seconds = sum(r["step_s"] for r in recent)
        speed = sum(r["tokens"] for r in recent) / seconds if seconds else 0.0
        eta = (total - row["step"]) * seconds / len(recent) if recent else 0.0
        acc = f"  seq_acc {self.last_eval['seq_acc']:6.1%}" if self.last_eval else ""
        loss = f"  loss {row['loss']:.4f}" if row.get("loss") is not None else ""
        return (f"[{'#' * done}{'.' * (self.width - done)}] step {row['step']}/{total}{loss}{acc}"
                f"  {speed:,.0f} tok/s  ETA {eta:4.0f}s ")

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_train(args) -> int:
    from .build import count_parameters
    from .devices import device_name
    from .training import Trainer, TrainingDiverged

    task, model_cfg, train_cfg = configs_from_args(args)
    if args.save:
        check_save_path(args.save)
    bar = None if args.json else ProgressBar()
    trainer = Trainer(task, model_cfg, train_cfg, callbacks=[JsonLines() if args.json else bar])
    if not args.json:
        print(f"Training the {model_cfg.arch} model ({count_parameters(trainer.model):,} parameters) on {task.name} "
              f"{task.params} on {device_name(trainer.device)}.", file=sys.stderr)
    if trainer.transfer is not None:
        print(f"From {train_cfg.init_from}: {trainer.transfer.sentence()}", file=sys.stderr)
    status = 0
    try:
        trainer.run()
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        status = EXIT_DIVERGED
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        status = 130
    except BrokenPipeError:  # `train --json | head`: the reader is gone; keep what was trained
        _silence_stdout()
        status = EXIT_BROKEN_PIPE
    finally:
        if bar:
            bar.close()
    last = trainer.evals[-1] if trainer.evals else {}
    if trainer.stop_reason == "early_stop":  # the weights are the best step's, so are the metrics
        last = trainer.early.best_row
    if not args.json and last:
        print(f"Step {last['step']}/{train_cfg.steps}: val_loss {last['val_loss']:.4f}, token_acc {last['token_acc']:.1%}, "
              f"seq_acc {last['seq_acc']:.1%} (training examples: {last['train_seq_acc']:.1%}) after {last['elapsed_s']:.1f} s"
              + (f" (stopped: {trainer.stop_reason})." if trainer.stop_reason not in (None, "steps", "early_stop") else "."))
    if trainer.stop_reason == "early_stop":
        print(trainer.stop_message(), file=sys.stderr if args.json else sys.stdout)
    if args.save:
        extra = {"metrics": last, "train_config": train_cfg.to_dict(), "step": trainer.weights_step}
        save_or_rescue(args.save, trainer, task, extra)
    return status


def save_or_rescue(path: str, trainer, task, extra: dict) -> Path:
    """Save the trained model to `path`; if that fails (the disk filled, the folder went away
    during a long run), save it to the working folder or the temporary folder instead and say
    where, so a run is never lost to a path. ValueError only when nowhere can be written."""
    from .checkpoint import save_checkpoint

    step = trainer.weights_step
    try:
        saved = save_checkpoint(path, trainer.model, task, extra)
        print(f"Saved the model from step {step} to {saved}.", file=sys.stderr)
        return saved
    except OSError as err:
        reason = f"{err.__class__.__name__}: {err.strerror or err}"
    name = f"{task.name}-{trainer.model_cfg.arch}-step{step}.pt"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            saved = save_checkpoint(folder / name, trainer.model, task, extra)
        except OSError:
            continue
        print(f"Could not save to '{path}' ({reason}), so the model from step {step} was saved to {saved} instead.",
              file=sys.stderr)
        return saved
    raise ValueError(f"Could not save the model to '{path}' ({reason}), nor to the working or temporary folder: free some disk space.")


# --------------------------------------------------------------------------- tasks


def cmd_tasks(args) -> int:
    from .tasks import TASKS

    rows = []
    for name, cls in TASKS.items():
        rows.append({
            "name": name,
            "title": cls.title,
            "archs": list(cls.archs),
            "params": dict(cls.params),
            "description": cls.description,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        params = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in row["params"].items()) or "(no parameters)"
        print(f"{row['name']:<10} {row['description']}")
        print(f"{'':<10} archs: {', '.join(row['archs'])}")
        print(f"{'':<10} params: {params}")
    return 0


# --------------------------------------------------------------------------- generate


def cmd_generate(args) -> int:
    from .beam import MAX_BEAM_WIDTH, beam_search
    from .checkpoint import load_checkpoint
    from .decoding import generation_trace, predict, trace_text
    from .training import MAX_SEED

    if args.temperature < 0 or not math.isfinite(args.temperature):
        raise ValueError(f"--temperature must be 0 (greedy) or more (got {args.temperature}).")
    if args.top_k is not None and args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1 (got {args.top_k}).")
    if args.top_p is not None and not 0 < args.top_p <= 1:  # NaN fails too
        raise ValueError(f"--top-p must be above 0 and at most 1, such as 0.9 (got {args.top_p}).")
    if args.beam is not None:
        if not 1 <= args.beam <= MAX_BEAM_WIDTH:
            raise ValueError(f"--beam must be a whole number from 1 to {MAX_BEAM_WIDTH} (got {args.beam}).")
        if args.temperature or args.top_k is not None or args.top_p is not None:
            raise ValueError("--beam searches for the most probable answers instead of sampling: "
                             "leave out --temperature, --top-k and --top-p.")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed must be a whole number from 0 to {MAX_SEED:,} (got {args.seed}).")
    n_new = DEFAULT_NEW_TOKENS if args.max_new_tokens is None else args.max_new_tokens
    if not 1 <= n_new <= MAX_NEW_TOKENS:
        raise ValueError(f"--max-new-tokens must be a whole number from 1 to {MAX_NEW_TOKENS:,} (got {n_new}).")
    model, task, _ = load_checkpoint(args.checkpoint)
    src = task.parse(args.input)
    text_task = task.kind == "text"
    n_new = n_new if text_task else None  # a task's answer: its length and <eos>
    out: dict = {"input": task.format_src(src)}
    if model.cfg.layout == "tag" and args.beam is None:  # a classifier labels its input at once
        output = task.format_tgt(predict(model, task, [src])[0])
    elif args.beam is not None:
        beams = beam_search(model, task, src, args.beam, n_new)
        outputs = [task.format_tgt(b.tokens) for b in beams]
        output = outputs[0]
        out["beams"] = [{"output": o, "log_prob": round(b.log_prob, 6), "finished": b.finished,
                         "steps": [{"token": t, "log_prob": round(lp, 6)} for t, lp in b.steps]}
                        for o, b in zip(outputs, beams)]
    else:
        steps = generation_trace(model, task, src, n_new, args.temperature, args.top_k, args.top_p, args.seed)
        output = trace_text(task, steps)
        out["trace"] = [s.to_json() for s in steps]
    if text_task:
        output = task.format_src(src) + output
    if args.json:
        result = {"input": out.pop("input"), "output": output}
        if not text_task:
            expected = task.format_tgt(task.solve(src))
            result.update(expected=expected, correct=output == expected)
        result["settings"] = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
                              "seed": args.seed, "beam": args.beam}
        print(json.dumps({**result, **out}))
    else:
        print(output)
    return 0


# --------------------------------------------------------------------------- main


def _silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (`tasks | head -1`), as Python's
    documentation on SIGPIPE recommends: otherwise the interpreter's own flush at exit raises
    BrokenPipeError again and prints a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "tasks":
            return cmd_tasks(args)
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "bench":
            from .bench import main as bench_main

            return bench_main(quick=args.quick, threads=args.threads, as_json=args.json)
    except ValueError as err:  # includes CheckpointError: always one sentence for a person
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return EXIT_USAGE
