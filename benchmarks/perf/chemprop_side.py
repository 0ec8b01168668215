"""The chemprop side of chemprop_compare.py; runs in chemprop's own virtual environment.

Usage: CHEMPROP_PYTHON chemprop_side.py TRAIN_CSV VALID_CSV EPOCHS BATCH_SIZE THREADS
(CSV columns: smiles, y). Prints one JSON line: seconds per epoch (wall and
CPU, training plus validation), validation RMSE per epoch (original units,
computed here from the model's predictions, outside the timing),
data preparation seconds. chemprop's defaults otherwise: BondMessagePassing
(d_h 300, depth 3), mean aggregation, one-hidden-layer FFN, Noam schedule.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import torch


def main(train_csv, valid_csv, epochs, batch_size, threads):
    torch.set_num_threads(int(threads))
    from chemprop import data, featurizers, models, nn
    from lightning import pytorch as pl

    start = time.perf_counter()
    train, valid = pd.read_csv(train_csv), pd.read_csv(valid_csv)
    featurizer = featurizers.SimpleMoleculeMolGraphFeaturizer()
    train_dset = data.MoleculeDataset(
        [data.MoleculeDatapoint.from_smi(s, [y]) for s, y in zip(train.smiles, train.y)], featurizer)
    # Validation targets stay in original units: the model unscales its outputs in eval mode.
    valid_dset = data.MoleculeDataset(
        [data.MoleculeDatapoint.from_smi(s, [y]) for s, y in zip(valid.smiles, valid.y)], featurizer)
    scaler = train_dset.normalize_targets()
    ffn = nn.RegressionFFN(output_transform=nn.UnscaleTransform.from_standard_scaler(scaler))
    model = models.MPNN(nn.BondMessagePassing(), nn.MeanAggregation(), ffn, metrics=[nn.RMSE()])
    train_loader = data.build_dataloader(train_dset, batch_size=int(batch_size), num_workers=0, seed=0)
    valid_loader = data.build_dataloader(valid_dset, batch_size=int(batch_size), num_workers=0, shuffle=False)
    prep = time.perf_counter() - start

    spans, rmse, order = [], [], []
    valid_y = valid.y.to_numpy()

    class Stamps(pl.Callback):
        """Times each epoch (training and the validation pass); scores the model outside the timing."""

        def on_train_epoch_start(self, trainer, pl_module):
            order.append("train_start")
            self.start = (time.perf_counter(), time.process_time())

        def on_validation_epoch_end(self, trainer, pl_module):
            order.append("validation_end")

        def on_train_epoch_end(self, trainer, pl_module):
            order.append("train_end")
            spans.append((time.perf_counter() - self.start[0], time.process_time() - self.start[1]))
            was_training = pl_module.training
            pl_module.eval()
            with torch.inference_mode():
                preds = []
                for batch in valid_loader:
                    bmg, V_d, X_d, *_ = batch
                    preds.append(pl_module(bmg, V_d, X_d))
            pl_module.train(was_training)
            preds = torch.cat(preds).numpy().ravel()
            rmse.append(float(np.sqrt(np.mean((preds - valid_y) ** 2))))

    trainer = pl.Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        accelerator="cpu", devices=1, max_epochs=int(epochs), num_sanity_val_steps=0, callbacks=[Stamps()],
    )
    trainer.fit(model, train_loader, valid_loader)
    print(json.dumps({
        "epoch_wall_s": [w for w, c in spans], "epoch_cpu_s": [c for w, c in spans],
        "valid_rmse": rmse, "prep_s": prep, "hook_order_first_epoch": order[:3],
        "chemprop": __import__("chemprop").__version__, "torch": torch.__version__,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:6])
