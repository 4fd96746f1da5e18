#!/usr/bin/env python3
"""`align` with and without the network on the real scans of real_scans.py (issue #15's bar "the
default path succeeds at least as often as --no-network at no more median time"). Not run by
`swift test`:

    python3 Tests/Scripts/network_vs_search.py --stnreg .build/release/stnreg --images DIR --work WORK [--runs 3]

Per scan: `stnreg align SCAN ATLAS -q` and the same with `--no-network`, alternated, `--runs`
rounds; the median wall time of the process each way, the flags, and the mean distance over the
atlas brain between the two results (first round)."""
import argparse, json, os, statistics, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_scans

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--runs', type=int, default=3)
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
dist = real_scans.brain_distance(args.atlas)
modes = {'default': [], 'no-network': ['--no-network']}
medians = {m: [] for m in modes}
for name, path in real_scans.scan_paths(args.images, args.work).items():
    walls, records = {m: [] for m in modes}, {}
    for r in range(args.runs):
        for mode, extra in modes.items():
            out = os.path.join(args.work, '%s_%s' % (name, mode))
            t = time.time()
            subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '-q',
                            '--audit-log', os.path.join(args.work, 'audit.jsonl')] + extra, capture_output=True, check=True)
            walls[mode].append(time.time() - t)
            if r == 0: records[mode] = json.load(open(out + '_transform.json'))
    apart = dist(real_scans.homogeneous(records['default']['atlasToScan']), real_scans.homogeneous(records['no-network']['atlasToScan']))
    cells = []
    for mode in modes:
        medians[mode].append(statistics.median(walls[mode]))
        cells.append('%s %.2f s %s' % (mode, medians[mode][-1], ','.join(records[mode]['flags']) or '-'))
    print('%-9s %s | results %.2f mm apart' % (name, ' | '.join(cells), apart), flush=True)
print('median over the scans: ' + ', '.join('%s %.2f s' % (m, statistics.median(v)) for m, v in medians.items()))
