"""``chemprop train`` with a clock on every epoch; runs in chemprop's own virtual environment.

Usage: CHEMPROP_PYTHON chemprop_epoch_clock.py CLOCK_JSON train ARGS...

Runs chemprop's own command line (``chemprop.cli.main``) unchanged, except that
every Lightning trainer it builds gets one more callback, which notes the wall
clock (``time.time()``) and the validation metrics at the end of each epoch.
chemprop's CSV log has the validation loss per epoch but no time, and the
time-to-accuracy figure of the benchmark needs both. The records are written to
CLOCK_JSON as a list of ``{"epoch", "time", "val/...", "val_loss"}``.
"""

import json
import sys
import time

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback


class EpochClock(Callback):
    def __init__(self, records: list):
        self.records = records

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()
                   if name.startswith("val")}
        self.records.append({"epoch": trainer.current_epoch, "time": time.time(), **metrics})


def main(clock_path: str, chemprop_args: list) -> None:
    records: list = []
    build_trainer = pl.Trainer.__init__

    def build_trainer_with_clock(self, *args, callbacks=None, **kwargs):
        build_trainer(self, *args, callbacks=[*(callbacks or []), EpochClock(records)], **kwargs)

    pl.Trainer.__init__ = build_trainer_with_clock
    from chemprop.cli.main import main as chemprop_main

    imported = time.time()
    sys.argv = ["chemprop", *chemprop_args]
    try:
        chemprop_main()
    finally:
        with open(clock_path, "w") as handle:
            json.dump({"imported": imported, "epochs": records}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
