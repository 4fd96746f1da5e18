#!/usr/bin/env python3
"""Wall time of `stnreg align` by two builds on the same scans, alternated build by build and
scan by scan, medians, and each scan's time as a multiple of the first scan's (the README's
cross-contrast time figures: the first scan a T1, the others its renderings in other
contrasts). Each build runs with its own protocols folder (STNREG_PROTOCOLS). Not run by
`swift test`.

    swift run -c release stnbench render-contrasts DIR 1 0
    python3 Tests/Scripts/time_builds.py --build before OLD_BIN OLD_PROTOCOLS --build now NEW_BIN NEW_PROTOCOLS \\
        --runs 5 DIR/colin27_t1_2mm_t1.nii.gz DIR/colin27_t1_2mm_t2.nii.gz DIR/colin27_t1_2mm_pd.nii.gz DIR/colin27_t1_2mm_flair.nii.gz
"""
import argparse, os, statistics, subprocess, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument('--build', nargs=3, action='append', metavar=('NAME', 'STNREG', 'PROTOCOLS'), required=True)
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
ap.add_argument('--runs', type=int, default=5)
ap.add_argument('--threads', default='2')
ap.add_argument('scans', nargs='+')
args = ap.parse_args()
work = tempfile.mkdtemp()
wall = {(b[0], s): [] for b in args.build for s in args.scans}
for _ in range(args.runs):
    for s in args.scans:
        for name, exe, protocols in args.build:
            t = time.time()
            subprocess.run([exe, 'align', s, args.atlas, '-o', os.path.join(work, name), '-q', '--threads', args.threads,
                            '--audit-log', os.path.join(work, 'audit.jsonl')],
                           check=True, capture_output=True, env=dict(os.environ, STNREG_PROTOCOLS=protocols))
            wall[(name, s)].append(time.time() - t)
for name, _, _ in args.build:
    first = statistics.median(wall[(name, args.scans[0])])
    print(name, '  '.join('%s %.2f s (%.2f×)' % (os.path.basename(s), statistics.median(wall[(name, s)]),
                                                  statistics.median(wall[(name, s)]) / first) for s in args.scans))
