"""Where the estimators compute: device checks, ``device="auto"``, mixed precision.

:class:`DevicePrecisionMixin` holds the skorch hooks this needs (``initialize``,
``infer``, ``train_step_single``, ``_step_optimizer``, pickling); it goes
before :class:`skorch.NeuralNet` in the bases of an estimator.
"""

from __future__ import annotations

import torch
from skorch.dataset import unpack_data

__all__ = ["AUTOCAST_DTYPES", "DevicePrecisionMixin", "check_device"]

AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def check_device(device) -> None:
    """Refuse a device that is malformed or absent from this machine (ValueError)."""
    requested = device
    if not (device is None or device == "auto" or isinstance(device, (str, torch.device))):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or None; got {device!r}")
    if isinstance(device, str) and device not in ("auto",):
        try:
            device = torch.device(device)
        except RuntimeError as error:
            raise ValueError(f"invalid device {requested!r}: {error}") from None
    if isinstance(device, torch.device) and device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if device.index is not None and device.index >= available or available == 0:
            raise ValueError(
                f"device={requested!r} but this machine has {available} CUDA device(s); "
                "use device='auto' to take a GPU when there is one, or device='cpu'"
            )


class DevicePrecisionMixin:
    """skorch hooks for ``device="auto"`` and ``mixed_precision`` (see the estimators' docs)."""

    def _resolve_device(self) -> None:
        if self.device == "auto":
            self.device_ = "cuda" if torch.cuda.is_available() else "cpu"
        else:
            self.device_ = self.device

    # skorch reads self.device everywhere; "auto" must resolve before it does.
    def initialize(self):
        self._resolve_device()
        self.__dict__.pop("_grad_scaler_", None)
        requested = self.device
        if requested == "auto":
            self.device = self.device_
        try:
            return super().initialize()
        finally:
            self.device = requested

    def __getstate__(self):
        state = super().__getstate__()
        if state.get("device") == "auto":
            # skorch maps saved tensors by the device name, which must be concrete.
            state["device"] = state.get("device_", "cpu")
            state["device_requested_"] = "auto"
        # Holds device tensors; a fresh one is made when training goes on.
        state.pop("_grad_scaler_", None)
        return state

    def __setstate__(self, state):
        requested = state.pop("device_requested_", None)
        super().__setstate__(state)
        # skorch falls back to "cpu" when a CUDA-fitted net is loaded without CUDA.
        if "device_" in self.__dict__:
            self.device_ = self.device
        if requested is not None:
            self.device = requested

    def infer(self, x, **fit_params):
        x = x.to(self.device_, non_blocking=True)
        if self.mixed_precision is None:
            return self.module_(x, **fit_params)
        device_type = torch.device(self.device_).type
        with torch.autocast(device_type, dtype=AUTOCAST_DTYPES[self.mixed_precision]):
            output = self.module_(x, **fit_params)
        # Losses, the attention and the predictions users see stay in float32.
        return output.float()

    @property
    def _grad_scaler(self):
        """float16 gradients underflow without loss scaling; bfloat16 needs none."""
        if self.mixed_precision != "float16":
            return None
        scaler = self.__dict__.get("_grad_scaler_")
        if scaler is None:
            scaler = torch.amp.GradScaler(torch.device(self.device_).type)
            self.__dict__["_grad_scaler_"] = scaler
        return scaler

    def train_step_single(self, batch, **fit_params):
        scaler = self._grad_scaler
        if scaler is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler.scale(loss).backward()
        for name in self._optimizers:
            # Callbacks on on_grad_computed (gradient clipping) see true gradients.
            scaler.unscale_(getattr(self, name + "_"))
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = self._grad_scaler
        if scaler is None:
            return super()._step_optimizer(step_fn)
        # GradScaler cannot step with a closure: compute, then step (or skip
        # the step when the gradients overflowed), then adapt the scale.
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()
