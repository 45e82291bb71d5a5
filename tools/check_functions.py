#!/usr/bin/python3
"""check_functions.py — lists C functions in src/ and tools/ longer than a limit (default 100 lines),
and calls from one tools/cmd_*.c into another (a module two commands need is its own file).

A long function is the first sign that a command stopped reading as parse -> set up -> loop, or
that a library routine grew two jobs. The kernels and the UNet's forward and backward passes are
allowed to be long: they are straight-line layer sequences that read better unsplit (ALLOWED).

    /usr/bin/python3 tools/check_functions.py [--max N] [ROOT]    exit 1 if any function is too long
Not here: style or formatting checks (the compiler's -Wall -Wextra is the other gate)."""
import os
import re
import sys

# file -> function names that may exceed the limit, and why
ALLOWED = {
    "src/kernels.c": None,        # every kernel: vector main loop + scalar remainder, unsplit on purpose
    "src/kernels_ref.c": None,    # the scalar references, one per kernel
    "src/kernels_grad.c": None,   # the backward kernels
    "src/kernels_bench.c": None,  # the kernel benchmarks beside their kernels
    "src/unet.c": {"ds_unet_forward"},
    "src/unet_train.c": {"ds_unet_backward"},
}

KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof"}


def strip_code(text):
    """Blanks comments, strings and character literals (keeping newlines) so braces count true."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):  # a preprocessor line, with continuations
            j = i
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, line count) of every function definition in a C file."""
    code = strip_code(open(path, encoding="utf-8", errors="replace").read())
    found, depth, head, head_line, start = [], 0, "", 1, None
    line = 1
    for c in code:
        if c == "\n":
            line += 1
        if depth == 0:
            if c == "{":
                m = re.search(r"([A-Za-z_]\w*)\s*\([^;]*\)\s*$", head, re.S)
                first = head.lstrip()
                is_func = m and m.group(1) not in KEYWORDS and "=" not in head.split("(")[0] \
                    and not re.match(r"(typedef|struct|enum|union)\b", first)
                start = (m.group(1), head_line) if is_func else None
                depth = 1
                continue
            if c in ";}":
                head, head_line = "", line
                continue
            if not head.strip():
                head_line = line
            head += c
        else:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    if start:
                        found.append((start[0], start[1], line - start[1] + 1))
                    head, head_line, start = "", line, None
    return found


def cross_command_calls(root):
    """(caller file, callee, defining file) for each call from one tools/cmd_*.c into another."""
    base = os.path.join(root, "tools")
    cmds = sorted(n for n in os.listdir(base) if n.startswith("cmd_") and n.endswith(".c"))
    code = {n: strip_code(open(os.path.join(base, n), encoding="utf-8").read()) for n in cmds}
    defined = {n: {f for f, _, _ in functions(os.path.join(base, n))} for n in cmds}
    found = []
    for caller in cmds:
        for other in cmds:
            if other == caller:
                continue
            for fn in sorted(defined[other] - defined[caller]):
                if fn.startswith("cmd_"):  # the entry points: tools/diffuscope.c's table calls them
                    continue
                if re.search(r"\b" + re.escape(fn) + r"\s*\(", code[caller]):
                    found.append((caller, fn, other))
    return found


def main(argv):
    limit, root = 100, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a in ("-h", "--help"):
            print("usage: check_functions.py [--max N] [REPO]   functions over N lines (100) outside the\n"
                  "allow-list, and calls from one tools/cmd_*.c into another; exit 1 if any")
            return 0
        if a == "--max" and args:
            limit = int(args.pop(0))
        elif a.startswith("-") or not os.path.isdir(os.path.join(a, "src")):
            sys.stderr.write(f"check_functions.py: {a} is not an option or a repository folder (see --help)\n")
            return 2
        else:
            root = a
    long_ones = []
    for folder in ("src", "tools"):
        base = os.path.join(root, folder)
        for name in sorted(os.listdir(base)):
            if not name.endswith(".c"):
                continue
            rel = folder + "/" + name
            allowed = ALLOWED.get(rel, set())
            for fn, first, count in functions(os.path.join(base, name)):
                if count > limit and allowed is not None and fn not in allowed:
                    long_ones.append((rel, first, fn, count))
    crossing = cross_command_calls(root)
    for caller, fn, other in crossing:
        print(f"tools/{caller} calls {fn}, defined in tools/{other}: move it to a module both include")
    for rel, first, fn, count in long_ones:
        print(f"{rel}:{first}: {fn} is {count} lines (limit {limit}); split it into named steps")
    if long_ones:
        print(f"{len(long_ones)} function(s) over {limit} lines (allow-list: tools/check_functions.py ALLOWED)")
    if long_ones or crossing:
        return 1
    print(f"check_functions: no function in src/ or tools/ over {limit} lines outside the allow-list, "
          "no command calling another")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
