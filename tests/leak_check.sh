#!/usr/bin/env bash
# leak_check.sh — small CLI runs of every kind (sampling with the exact mixture and with a
# UNet, MLP training with a resume, a tiny UNet training step, VI, point sampling, png2points,
# and some failing runs: corrupt files, a FIFO given as a file or as an output, an output that
# is an input, standard output and --write-through) under LeakSanitizer (the ASan
# build), plus one sampling run of the plain build under valgrind. Fails on any leak, sanitizer report or unexpected exit status.
# Usage: tests/leak_check.sh ASAN_BUILD_DIR [RELEASE_BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
asan=${1:?usage: tests/leak_check.sh ASAN_BUILD_DIR [RELEASE_BUILD_DIR]}
release=${2:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ds-leak.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '0 0\n1 0\n1 1\n0 1\n' >"$tmp/square.txt"
printf 'not a weights file' >"$tmp/garbage.dsw"
mkfifo "$tmp/fifo"
failed=0

# exitcode 86: a leak (or any sanitizer report) is told apart from the CLI's own exit 1
check() {
  local want=$1 label=$2
  shift 2
  ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:exitcode=86 \
    "$asan/diffuscope" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [[ $rc != "$want" ]] || grep -q 'Sanitizer' "$tmp/err"; then
    echo "leak check: $label: exit $rc (expected $want)"
    grep -A12 'Sanitizer' "$tmp/err" | head -30
    failed=1
  else
    echo "leak check: $label: no leak"
  fi
}

check 0 "sample (exact mixture, ddpm)" sample --analytic web/data/fashion-sample.bin --n 4 --steps 5 --sampler ddpm --png "$tmp/s.png" --quiet
check 0 "sample (UNet, png + frames + npy)" sample --weights tests/golden/unet_tiny.dsw --n 2 --steps 3 --png "$tmp/u.png" --frames "$tmp/f.png" --npy "$tmp/u.npy" --quiet
check 0 "train mlp" train --model mlp --points moons --points-n 256 --steps 20 --batch 32 --shard 16 --hidden 16 --layers 2 --temb 8 --out "$tmp/m.dsw" --checkpoint "$tmp/c.ckpt" --threads 2
check 0 "train mlp --resume" train --model mlp --points moons --points-n 256 --steps 30 --out "$tmp/m.dsw" --checkpoint "$tmp/c.ckpt" --resume --threads 2
if [[ -f "${DS_FASHION_DIR:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz" ]]; then
  check 0 "train unet (2 steps)" train --model unet --base 8 --mult 1,2 --res-blocks 1 --groups 4 --temb 16 --steps 2 --batch 4 --shard 2 --out "$tmp/un.dsw" --checkpoint "$tmp/uc.ckpt" --threads 2
fi
check 0 "vi fit with path" vi --fit reverse --path
check 0 "vi monte carlo" vi --mc 1000 --seed 3
check 0 "points sample" points sample --weights weights/points-cow.dsw -n 100 --steps 10 -o "$tmp/p.txt"
check 0 "png2points --drawing --fill" png2points --drawing "$tmp/square.txt" --fill -n 100 -o "$tmp/sq.txt" --png "$tmp/sq.png"
check 0 "info --tensors" info tests/golden/unet_tiny.dsw --tensors
check 1 "sample with a corrupt weights file" sample --weights "$tmp/garbage.dsw" --png "$tmp/x.png"
check 1 "png2points with a file that is not a PNG" png2points "$tmp/garbage.dsw" -o "$tmp/x.txt"
check 1 "info with a corrupt weights file" info "$tmp/garbage.dsw"
check 1 "sample with a FIFO as weights (refused, not waited on)" sample --weights "$tmp/fifo" --png "$tmp/x.png"
check 1 "train --resume from a corrupt checkpoint" train --model mlp --points moons --out "$tmp/m2.dsw" --checkpoint "$tmp/garbage.dsw" --resume
check 1 "sample onto a FIFO (refused before sampling)" sample --analytic web/data/fashion-sample.bin --n 2 --steps 2 --png "$tmp/fifo" --quiet
# a null device of our own (never /dev/null itself: a regression would replace it)
if mknod "$tmp/null" c 1 3 2>/dev/null; then
  check 0 "sample --write-through into a character device" sample --analytic web/data/fashion-sample.bin --n 2 --steps 2 --png "$tmp/null" --write-through --quiet
  [[ -c $tmp/null ]] || { echo "leak check: the device is no longer a device"; failed=1; }
fi
check 0 "sample --png - (standard output)" sample --analytic web/data/fashion-sample.bin --n 2 --steps 2 --png - --quiet
cp tests/golden/unet_tiny.dsw "$tmp/w.dsw"
check 1 "sample --png onto its own weights (refused)" sample --weights "$tmp/w.dsw" --n 1 --steps 2 --png "$tmp/w.dsw" --quiet
cmp -s tests/golden/unet_tiny.dsw "$tmp/w.dsw" || { echo "leak check: the weights file changed"; failed=1; }
check 1 "train --out X --checkpoint X (refused)" train --model mlp --points moons --steps 2 --out "$tmp/X" --checkpoint "$tmp/X"
check 1 "points sample from a binary file as --shape" points sample --weights weights/points-cow.dsw -n 100 --steps 5 --shape "$tmp/w.dsw" -o "$tmp/p2.txt"
check 2 "sample --eta with ddpm (refused)" sample --analytic web/data/fashion-sample.bin --sampler ddpm --eta 0.5 --png "$tmp/x.png"

if [[ -n $release ]] && command -v valgrind >/dev/null; then
  if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=86 \
      "$release/diffuscope" sample --analytic web/data/fashion-sample.bin --n 2 --steps 3 --png "$tmp/v.png" --quiet \
      >"$tmp/out" 2>"$tmp/err"; then
    echo "leak check: valgrind sample: no leak, no invalid access"
  else
    echo "leak check: valgrind sample: FAILED"
    head -40 "$tmp/err"
    failed=1
  fi
fi
exit $failed
