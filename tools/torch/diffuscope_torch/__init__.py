# diffuscope_torch — the PyTorch twin of Diffuscope's networks and trainers (docs/own-model.md,
# "Path 2: PyTorch"): the UNet and the point MLP of docs/model.md (model.py), training with the C
# trainer's objective, schedule, label dropout, AdamW, warm-up, clipping and EMA on one or many
# processes through torch.distributed (train.py, optim.py, data.py), and export of the EMA
# weights to .dsw (export.py). Optional for users: the C/WASM product never needs it.
# Not here: the .dsw bytes (tools/dsw.py, shared with the other Python tools).
import os
import sys

_TOOLS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TOOLS not in sys.path:
    sys.path.insert(0, _TOOLS)  # tools/dsw.py
