#!/usr/bin/env python3
"""Wall time of `stnreg align` for several (scan, protocol) pairs, run alternately, medians.
Not run by `swift test`. The README's T1/T2 timing line:

    python3 Tests/Scripts/time_align.py --stnreg .build/release/stnreg --runs 7 \\
        --case TestVolumes/colin27_t1_2mm.nii.gz OLD_PROTOCOL.json --case TestVolumes/colin27_t1_2mm.nii.gz brain-affine ...

(OLD_PROTOCOL.json: Protocols/brain-affine.json without its `contrast` section.)
"""
import argparse, os, statistics, subprocess, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(__file__), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
ap.add_argument('--runs', type=int, default=7)
ap.add_argument('--threads', default='2')
ap.add_argument('--case', nargs=2, action='append', metavar=('SCAN', 'PROTOCOL'), required=True)
args = ap.parse_args()
out = os.path.join(tempfile.mkdtemp(), 'timed')
times = {i: [] for i in range(len(args.case))}
for _ in range(args.runs):
    for i, (scan, proto) in enumerate(args.case):
        t = time.time()
        subprocess.run([args.stnreg, 'align', scan, args.atlas, '-o', out, '-q', '--protocol', proto, '--threads', args.threads],
                       check=True, capture_output=True)
        times[i].append(time.time() - t)
for i, (scan, proto) in enumerate(args.case):
    print('%s [%s]: median %.2f s of %d' % (os.path.basename(scan), os.path.basename(proto), statistics.median(times[i]), args.runs))
