#!/usr/bin/env python3
"""How fast does each command answer `--help`? In one run, for every console script: the command as installed (its
`launch`, which answers from `commands.json` without importing the command) against the straightforward way, the
`call_parse` function run from a script as the console scripts ran it before (importing its module, so torch and
fastai, first). Median of `--runs` runs each, in fresh processes; prints a table and the ratio.
Usage: python bench/help.py [--runs 3]"""
import statistics, subprocess, sys, tempfile, time, tomllib
from pathlib import Path
from fastcore.script import call_parse
from duckling_mirror.launch import COMMANDS

ROOT = Path(__file__).resolve().parent.parent

def seconds(args: list, runs: int) -> float:
    "Median wall-clock seconds of running `args` to the end, `runs` times"
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(args, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        assert out.returncode == 0 and out.stdout.startswith('usage: '), out.stderr[-2000:]
    return statistics.median(times)

@call_parse
def main(runs: int = 3):  # runs of each command, each way
    "Print each command's --help time, as installed and the straightforward way"
    scripts = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['scripts']
    bin_dir, rows = Path(sys.executable).parent, []
    with tempfile.TemporaryDirectory() as d:
        for prog in scripts:
            module, name = COMMANDS[prog].split(':')
            plain = Path(d)/f'run_{name}.py'  # what a console script of the call_parse function itself is
            plain.write_text(f'import sys\nfrom {module} import {name}\nsys.exit({name}())\n')
            rows.append((prog, seconds([bin_dir/prog, '--help'], runs), seconds([sys.executable, plain, '--help'], runs)))
    print(f'{"command":<26} {"launch (s)":>10} {"import first (s)":>17} {"ratio":>7}')
    for prog, fast, slow in rows: print(f'{prog:<26} {fast:>10.2f} {slow:>17.2f} {slow / fast:>6.0f}x')
    print(f'slowest --help as installed: {max(r[1] for r in rows):.2f} s (goal: 2 s); importing first: {max(r[2] for r in rows):.2f} s')
