"""``python -m molgnba.benchmark``: the paper's paired protocol from the command line.

Examples
--------
A quick slice (minutes on a laptop CPU)::

    python -m molgnba.benchmark --datasets esol --backbones gin --seeds 0 --epochs 5 \\
        --hidden-dim 64 --num-layers 3 --data-home ../shared/data --out bench-quick

The full protocol of the paper (48 runs)::

    python -m molgnba.benchmark --data-home ../shared/data --out benchmark_results
"""

from __future__ import annotations

import argparse
import sys

from molgnba.benchmark.runner import LOSS_VARIANTS, plan_runs, run_benchmark


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m molgnba.benchmark",
        description=(
            "Run the GNBA paper's paired protocol: datasets x backbones x losses x seeds, identical "
            "splits within each pair, model selection at the best validation epoch, test ROC-AUC or "
            "RMSE. Each run is saved as JSON in OUT/runs; a rerun skips finished runs. Writes "
            "OUT/report.md with the Table I-style table, paired tests and figures."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", default=["bbbp", "bace", "lipophilicity", "esol"])
    parser.add_argument("--backbones", nargs="+", default=["gin", "gat"], choices=["gin", "gat"])
    parser.add_argument("--losses", nargs="+", default=["plain", "gnba"], choices=sorted(LOSS_VARIANTS),
                        help="loss variants; 'gnba' is the entropy-guarded attention, 'gnba-adversarial' "
                             "the estimators' default, 'gnba-paper' the paper's equation as written; "
                             "'focal' and 'ghm-30bins' (GHM-C as its authors ran it) classification only, "
                             "'ghm' 10 bins")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--split", choices=["random", "scaffold"], default="random")
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--hidden-dim", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run")
    parser.add_argument("--data-home", default=None,
                        help="directory with the dataset CSVs (else $MOLGNBA_DATA, the cache, or a download)")
    parser.add_argument("--out", default="benchmark_results", help="output directory")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from finished runs")
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--figure-dir", default=None, help="where the report's figures go (default: OUT/figures)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from molgnba.benchmark.report import write_report

    if not args.report_only:
        configs = plan_runs(
            args.datasets, args.backbones, args.losses, args.seeds, split=args.split, epochs=args.epochs,
            hyperparameters={"num_layers": args.num_layers, "hidden_dim": args.hidden_dim,
                             "lr": args.lr, "batch_size": args.batch_size},
        )
        failures = run_benchmark(
            configs, args.out, data_home=args.data_home, device=args.device, jobs=args.jobs,
            threads=args.threads, progress=not args.no_progress,
        )
        for key, error in failures:
            print(f"run {key} failed:\n{error}", file=sys.stderr)
    report = write_report(args.out, figures=not args.no_figures, figure_dir=args.figure_dir)
    print(f"report: {report}")
    return 1 if not args.report_only and failures else 0


if __name__ == "__main__":
    sys.exit(main())
