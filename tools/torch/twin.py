#!/usr/bin/python3
# twin.py — the PyTorch twin's command line, a script so torchrun can start it:
#   torchrun --nproc_per_node=8 tools/torch/twin.py train --checkpoint run.pt --steps 20000
#   /usr/bin/python3 tools/torch/twin.py export run.pt --out my.dsw
# (docs/own-model.md, "Path 2: PyTorch"). Not here: the commands (diffuscope_torch/).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffuscope_torch.__main__ import main  # noqa: E402

main()
