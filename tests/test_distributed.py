"`train` under `accelerate launch`: two CPU processes (gloo) train one epoch on the sample photos, in step."
import re, subprocess, sys, textwrap
from pathlib import Path
from duckling_mirror.testing import sample_dataset, WATERFOWL_TERMS

SCRIPT = textwrap.dedent('''
    import sys, torch
    from fastai.vision.all import rank_distrib, num_distrib
    from duckling_mirror.train import train
    learn = train(sys.argv[1], 'fine_tune', epochs=1, freeze_epochs=1, size=128, seed=42 + rank_distrib())  # alone, each process would end elsewhere
    checksum = sum(p.double().sum().item() for p in learn.model.parameters())
    print(f'rank {rank_distrib()} of {num_distrib()}: checksum {checksum:.6f} error {learn.recorder.values[-1][2]:.4f}', flush=True)
''')

def test_two_cpu_processes_train_in_step(tmp_path):
    sample_dataset(tmp_path/'data', WATERFOWL_TERMS, progress=False)
    (tmp_path/'train.py').write_text(SCRIPT)
    accelerate = Path(sys.executable).parent/'accelerate'
    out = subprocess.run([accelerate, 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                          '--dynamo_backend', 'no', tmp_path/'train.py', tmp_path/'data'], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    ranks = sorted(re.findall(r'rank (\d) of (\d): checksum (\S+) error', out.stdout))  # the two processes' lines may run together
    assert [r[:2] for r in ranks] == [('0', '2'), ('1', '2')], out.stdout[-2000:]
    assert ranks[0][2] == ranks[1][2], ranks  # started apart, ended equal: DDP synced them
