# __main__.py — `python3 -m diffuscope_torch train|export ...` (tools/torch/twin.py is the same
# entry as a script, for torchrun). Not here: what the commands do (train.py, export.py).
import sys

USAGE = "usage: twin.py train [flags] | twin.py export CHECKPOINT --out FILE.dsw [--dtype f16|q8|f32]  (--help on each)"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("train", "export"):
        sys.exit(USAGE)
    try:
        if argv[0] == "train":
            from .train import train
            train(argv[1:])
        else:
            from .export import main as export_main
            export_main(argv[1:])
    except (ValueError, OSError, FloatingPointError) as e:  # bad input: the message names it, no traceback
        sys.exit(f"twin {argv[0]}: {e}")


if __name__ == "__main__":
    main()
