"""`train`: backpropagation through time for a `RateRNN` on a `Task`, with checkpoints."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from rnndyn._errors import SimulationError
from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.simulate.run import _check_device
from rnndyn.train._checkpoint import (
    autocast,
    load_checkpoint,
    mixed_precision_setup,
    save_checkpoint,
)
from rnndyn.train._protocols import Constraint, Regularizer, Task, TrialBatch
from rnndyn.train._result import TrainingResult
from rnndyn.train.losses import LossFunction, get_loss

__all__ = ["train"]

def train(model: torch.nn.Module, task: Task, *, n_steps: int, batch_size: int = 32,
          learning_rate: float = 1e-3, loss: str | LossFunction = "mse",
          task_weight: float = 1.0, regularizers: Sequence[Regularizer] = (),
          constraints: Sequence[Constraint] = (), clip_grad_norm: float | None = 1.0,
          target_loss: float | None = None, patience: int = 10, eval_every: int | None = 50,
          eval_batch_size: int | None = None, checkpoint: str | os.PathLike[str] | None = None,
          checkpoint_every: int = 100, resume: bool = True, device: str | torch.device = "cpu",
          progress: bool = True, seed: Seed = None,
          mixed_precision: bool = False) -> TrainingResult:
    """Train ``model`` on ``task`` with Adam and backpropagation through time.

    Each step draws a fresh batch, runs the model, and minimises

        loss = task_weight * L_task(outputs, batch) + sum_k penalty_k(model, output)

    then clips the gradient norm, takes an Adam step and applies every constraint
    (``constraint.apply(model, step)``, step 0-based).

    Parameters
    ----------
    model : RateRNN (or a module with the same forward, ``n_inputs``, ``n_outputs``, ``dt``)
    task : Task
        See `rnndyn.train._protocols.Task`; tasks live in `rnndyn.train.tasks`.
    n_steps : int
        Total number of steps, including those done before a resumed checkpoint.
    batch_size : int, default 32
    learning_rate : float, default 1e-3
    loss : "mse" or callable, default "mse"
        "mse" is the mask-weighted mean squared error (`rnndyn.train.losses.masked_mse`);
        a callable is ``loss(outputs, batch) -> scalar tensor``.
    task_weight : float, default 1.0
        >= 0; 0 optimises the regularisers alone.
    regularizers, constraints : sequences
        Objects following `_protocols.Regularizer` / `_protocols.Constraint`.
    clip_grad_norm : float or None, default 1.0
        Maximal gradient norm (None: no clipping).
    target_loss : float, optional
        Stop early once the mean ``loss`` over the last ``patience`` steps is below it.
    patience : int, default 10
    eval_every : int or None, default 50
        Score the model on a held-out batch (fixed for the run) every this many steps and at
        the end; None disables evaluation.
    eval_batch_size : int, optional
        Size of the held-out batch; default ``batch_size``.
    checkpoint : path, optional
        Checkpoint file, written atomically (temp file + ``os.replace``) every
        ``checkpoint_every`` steps and at the end. With ``resume`` and an existing file,
        training continues from it: model, optimiser state, step count, history and seed
        (the ``learning_rate`` of this call applies from there on).
    checkpoint_every : int, default 100
    resume : bool, default True
    device : str or torch.device, default "cpu"
    progress : bool, default True
        Show a tqdm progress bar.
    seed : int or numpy.random.Generator, optional
        Seeds batches and noise: step k draws its batch from ``default_rng([base, 0, k])``, so a
        resumed run sees the same batches as an uninterrupted one.
    mixed_precision : bool, default False
        Run the forward pass under ``torch.autocast`` (bfloat16 on CPU and on GPUs that have it,
        else float16 with gradient scaling); losses and penalties are summed in float32.

    Returns
    -------
    TrainingResult

    Raises
    ------
    ValueError
        A bad argument; a task whose n_inputs / n_outputs / dt differ from the model's; a batch
        of the wrong shape; a checkpoint written for another model.
    rnndyn.SimulationError
        The loss or the gradient became NaN/inf (the message gives the step).
    """
    args = _check_arguments(model, task, locals())
    loss_fn = get_loss(loss)
    device = _check_device(device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (all train_* flags are False)")
    optimizer = torch.optim.Adam(params, lr=args["learning_rate"])
    amp_dtype, scaler = mixed_precision_setup(mixed_precision, device)
    names = _penalty_names(regularizers)
    history: dict[str, list[float]] = {k: [] for k in ("step", "loss", "task_loss",
                                                       *names, "grad_norm")}
    base = _seed_base(seed)
    start = 0
    path = None if checkpoint is None else Path(checkpoint)
    if path is not None and resume and path.exists():
        start, base, history = load_checkpoint(path, model, optimizer, scaler, names)
        for group in optimizer.param_groups:  # this call's learning rate, not the saved one
            group["lr"] = args["learning_rate"]
    eval_batch = eval_cpu = None
    if eval_every is not None:
        eval_cpu = _draw(task, eval_batch_size or batch_size, np.random.default_rng([base, 2]))
        eval_batch = _to_device(eval_cpu, device)

    def evaluate(step: int) -> None:
        with torch.no_grad(), autocast(device, amp_dtype):
            out = model(eval_batch.inputs, noise_seed=np.random.default_rng([base, 3]))
        outputs = _full(out.outputs)
        # Scores are computed on the CPU: tasks may convert to NumPy.
        scores = task.score(outputs.cpu(), eval_cpu)
        _append_eval(history, step, float(loss_fn(outputs, eval_batch)), scores)

    started = time.perf_counter()
    stopped = "n_steps"
    bar = tqdm(total=n_steps, initial=start, unit="step", desc="train", disable=not progress,
               leave=False)
    step = start
    while step < n_steps:
        if _reached_target(history["loss"], target_loss, patience):
            stopped = "target_loss"
            break
        batch = _to_device(_draw(task, batch_size, np.random.default_rng([base, 0, step])),
                           device)
        with autocast(device, amp_dtype):
            out = model(batch.inputs, noise_seed=np.random.default_rng([base, 1, step]))
        task_loss = loss_fn(_full(out.outputs), batch)
        penalties = [_full(reg.penalty(model, out)) for reg in regularizers]
        total = task_weight * task_loss + sum(penalties, torch.zeros((), device=device))
        total_value = float(total.detach())
        if not math.isfinite(total_value):
            raise SimulationError(
                f"training step {step}: the loss became non-finite ({total_value}); lower "
                "learning_rate, the initial gain g or the inputs, or clip gradients harder")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.unscale_(optimizer)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip_grad_norm or math.inf))
        if not math.isfinite(grad_norm) and not scaler.is_enabled():
            raise SimulationError(f"training step {step}: the gradient became non-finite "
                                  f"({grad_norm}); lower learning_rate or clip_grad_norm")
        scaler.step(optimizer)
        scaler.update()
        with torch.no_grad():
            for constraint in constraints:
                constraint.apply(model, step)
        for key, value in zip(("step", "loss", "task_loss", *names, "grad_norm"),
                              (step, total_value, float(task_loss.detach()),
                               *(float(p.detach()) for p in penalties), grad_norm),
                              strict=True):
            history[key].append(value)
        step += 1
        if eval_batch is not None and (step % eval_every == 0 or step == n_steps):
            evaluate(step - 1)
        if path is not None and step % checkpoint_every == 0:
            save_checkpoint(path, model, optimizer, scaler, step, base, history, task)
        bar.update(1)
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{history['loss'][-1]:.4g}")
    bar.close()
    last = step - 1
    if eval_batch is not None and step > 0 and last not in history.get("eval_step", []):
        evaluate(last)
    if path is not None:
        save_checkpoint(path, model, optimizer, scaler, step, base, history, task)
    return _result(history, stopped, time.perf_counter() - started, args, task, model)


def _check_arguments(model: Any, task: Any, given: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(task, Task):
        raise ValueError(f"task must follow rnndyn.train._protocols.Task (name, n_inputs, "
                         f"n_outputs, dt, batch, score), got {type(task).__name__}")
    for attr in ("n_inputs", "n_outputs"):
        if getattr(task, attr) != getattr(model, attr):
            raise ValueError(f"task {task.name!r} has {attr}={getattr(task, attr)} but the model "
                             f"has {attr}={getattr(model, attr)}")
    if not math.isclose(float(task.dt), float(model.dt), rel_tol=1e-9):
        raise ValueError(f"task {task.name!r} has dt={task.dt:g} but the model has "
                         f"dt={model.dt:g}; build the task with the model's dt")
    check_int("n_steps", given["n_steps"], low=0)
    check_int("batch_size", given["batch_size"])
    check_int("patience", given["patience"])
    check_int("checkpoint_every", given["checkpoint_every"])
    for name in ("eval_every", "eval_batch_size"):
        if given[name] is not None:
            check_int(name, given[name])
    check_number("task_weight", given["task_weight"], low=0.0)
    if given["clip_grad_norm"] is not None:
        check_number("clip_grad_norm", given["clip_grad_norm"], low=0.0, low_inclusive=False)
    if given["target_loss"] is not None:
        check_number("target_loss", given["target_loss"])
    for reg in given["regularizers"]:
        if not isinstance(reg, Regularizer):
            raise ValueError(f"regularizers must have .name and .penalty(model, output), "
                             f"got {reg!r}")
    for con in given["constraints"]:
        if not isinstance(con, Constraint):
            raise ValueError(f"constraints must have .name and .apply(model, step), got {con!r}")
    keep = ("n_steps", "batch_size", "learning_rate", "task_weight", "clip_grad_norm",
            "target_loss", "patience", "eval_every", "eval_batch_size", "checkpoint_every",
            "mixed_precision")
    args = {k: given[k] for k in keep}
    args["learning_rate"] = check_number("learning_rate", given["learning_rate"], low=0.0,
                                         low_inclusive=False)
    args["loss"] = given["loss"] if isinstance(given["loss"], str) else "callable"
    args["regularizers"] = [repr(r) for r in given["regularizers"]]
    args["constraints"] = [repr(c) for c in given["constraints"]]
    return args


def _penalty_names(regularizers: Sequence[Regularizer]) -> list[str]:
    names: list[str] = []
    for reg in regularizers:
        name, k = f"penalty_{reg.name}", 1
        while name in names:  # two regularisers of one kind get _1, _2, ... suffixes
            name, k = f"penalty_{reg.name}_{k}", k + 1
        names.append(name)
    return names


def _seed_base(seed: Seed) -> int:
    rng, record = resolve_seed(seed)
    return record if isinstance(record, int) else int(rng.integers(2**63))


def _draw(task: Task, size: int, rng: np.random.Generator) -> TrialBatch:
    batch = task.batch(size, seed=rng)
    want = (batch.inputs.shape[0], batch.inputs.shape[1])
    for name, width in (("inputs", task.n_inputs), ("targets", task.n_outputs),
                        ("mask", task.n_outputs)):
        shape = tuple(getattr(batch, name).shape)
        if len(shape) != 3 or shape[:2] != want or shape[2] != width:
            raise ValueError(f"task {task.name!r} returned {name} of shape {shape}; expected "
                             f"(batch={want[0]}, time={want[1]}, {width})")
    return batch


def _to_device(batch: TrialBatch, device: torch.device) -> TrialBatch:
    move = {k: getattr(batch, k).to(device=device, dtype=torch.float32)
            for k in ("inputs", "targets", "mask")}
    periods = {k: v.to(device) for k, v in batch.periods.items()}
    return TrialBatch(**move, periods=periods, conditions=batch.conditions, dt=batch.dt)


def _full(tensor: torch.Tensor) -> torch.Tensor:
    # Losses are summed in float32 at least (a float64 model keeps float64).
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


def _reached_target(losses: list[float], target: float | None, patience: int) -> bool:
    return target is not None and len(losses) >= patience and \
        float(np.mean(losses[-patience:])) < target


def _append_eval(history: dict[str, list[float]], step: int, loss: float,
                 scores: dict[str, float]) -> None:
    n_before = len(history.setdefault("eval_step", []))
    history["eval_step"].append(step)
    values = {"eval_loss": loss, **{f"eval_{k}": float(v) for k, v in scores.items()}}
    for key in set(values) | {k for k in history if k.startswith("eval_") and k != "eval_step"}:
        # A metric first reported late, or missing once, is padded with NaN.
        column = history.setdefault(key, [math.nan] * n_before)
        column.append(values.get(key, math.nan))


def _result(history: dict[str, list[float]], stopped: str, wall_time: float,
            args: dict[str, Any], task: Task, model: Any) -> TrainingResult:
    arrays = {k: np.asarray(v, dtype=np.int64 if k in ("step", "eval_step") else np.float64)
              for k, v in history.items()}
    if arrays.get("eval_loss", np.zeros(0)).size and np.any(np.isfinite(arrays["eval_loss"])):
        best = int(arrays["eval_step"][np.nanargmin(arrays["eval_loss"])])
    elif arrays["loss"].size:
        best = int(arrays["step"][np.argmin(arrays["loss"])])
    else:
        best = -1
    try:
        model_config = model.config
    except (AttributeError, ValueError):
        model_config = {"class": type(model).__name__}
    parameters = {"training": args, "task": str(task.name), "model": model_config}
    return TrainingResult(history=arrays, best_step=best, stopped=stopped, wall_time=wall_time,
                          parameters=parameters)
