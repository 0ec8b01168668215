"""chemprop's side of the accuracy benchmark; runs in chemprop's own virtual environment.

Usage: CHEMPROP_PYTHON chemprop_side.py WORKDIR TASK EPOCHS THREADS [ENSEMBLE_SIZE]

WORKDIR holds ``data.csv`` (columns smiles, y) and ``split.json`` (row indices of
train, valid, test). chemprop's own command line trains with its defaults (D-MPNN
d_h 300 depth 3, mean aggregation, Noam schedule, best epoch by validation loss)
on the given train/valid rows, then predicts the valid and test rows. Prints one
JSON line: fit seconds (``chemprop train`` wall time, featurization included),
the part of them spent starting Python and importing chemprop (``import_seconds``),
epochs, the per-epoch validation curve from chemprop's CSV log, the seconds
from the start of ``chemprop train`` to the end of each epoch with that epoch's
validation metrics (``epoch_clock``, from :mod:`chemprop_epoch_clock`), and the
predictions, which the caller scores. With ENSEMBLE_SIZE > 1 (chemprop's
``--ensemble-size``) the predictions are the members' mean, and each member's test
predictions are given too (``test_member_predictions``), for the ensemble's spread.
"""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run(command):
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-2000:] + completed.stderr[-6000:])
        raise SystemExit(completed.returncode)


def predictions(chemprop, model, smiles_csv, out_csv):
    run([chemprop, "predict", "-i", str(smiles_csv), "--model-paths", str(model), "-o", str(out_csv),
         "--num-workers", "0"])
    with open(out_csv) as handle:
        return [float(row["y"]) for row in csv.DictReader(handle)]


def validation_curve(output_dir: Path) -> list:
    curve = {}
    for path in output_dir.rglob("metrics.csv"):
        with open(path) as handle:
            for row in csv.DictReader(handle):
                value = row.get("val_loss") or ""
                if value:
                    curve[int(row["epoch"])] = float(value)
    return [curve[k] for k in sorted(curve)]


def main(workdir, task, epochs, threads, ensemble_size=1):
    workdir = Path(workdir)
    chemprop = str(Path(sys.executable).with_name("chemprop"))
    split = json.loads((workdir / "split.json").read_text())
    Path(workdir / "splits.json").write_text(json.dumps([{"train": split["train"], "val": split["valid"],
                                                            "test": split["test"]}]))
    with open(workdir / "data.csv") as handle:
        rows = list(csv.DictReader(handle))
    for part in ("valid", "test"):
        with open(workdir / f"{part}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["smiles"])
            writer.writerows([rows[k]["smiles"]] for k in split[part])
    output_dir = workdir / "model"
    clock = Path(__file__).with_name("chemprop_epoch_clock.py")
    started_at = time.time()
    start = time.perf_counter()
    run([sys.executable, str(clock), str(workdir / "clock.json"), "train", "-i", str(workdir / "data.csv"), "-s", "smiles", "--target-columns", "y",
         "-t", "regression" if task == "regression" else "classification", "--epochs", str(epochs),
         "--splits-file", str(workdir / "splits.json"), "--num-workers", "0", "-o", str(output_dir),
         "--pytorch-seed", "0", "--ensemble-size", str(ensemble_size)])
    fit_seconds = time.perf_counter() - start
    clock = json.loads((workdir / "clock.json").read_text())
    epoch_clock = clock["epochs"]
    for record in epoch_clock:
        record["seconds"] = record.pop("time") - started_at
    members = sorted(output_dir.rglob("best.pt"))

    def mean_predictions(smiles_csv, name):
        per_member = [predictions(chemprop, model, smiles_csv, workdir / f"{name}_{k}.csv")
                      for k, model in enumerate(members)]
        return [sum(values) / len(values) for values in zip(*per_member)], per_member

    valid_predictions, _ = mean_predictions(workdir / "valid.csv", "valid_preds")
    test_predictions, test_members = mean_predictions(workdir / "test.csv", "test_preds")
    print(json.dumps({
        "fit_seconds": fit_seconds,
        "import_seconds": clock["imported"] - started_at,
        "epochs": int(epochs),
        "threads": int(threads),
        "valid_loss_curve": validation_curve(output_dir),
        "epoch_clock": epoch_clock,
        "ensemble_size": len(members),
        "valid_predictions": valid_predictions,
        "test_predictions": test_predictions,
        **({"test_member_predictions": test_members} if len(members) > 1 else {}),
        "chemprop_version": __import__("chemprop").__version__,
    }))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", sys.argv[4])
    main(*sys.argv[1:6])
