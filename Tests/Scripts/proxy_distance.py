#!/usr/bin/env python3
"""The README's basin-stage figures ("A scan with skull, another contrast, a skull-stripped
atlas"): each real scan of real_scans.py registered by `stnreg align` (default protocol) to the
skull-stripped 2 mm TestVolumes MNI152, and its distance (mean over that atlas's brain) from the
same scan's registration to a proxy atlas with skull in the same space (FSL's MNI152 2 mm,
`register/MNI152_T1_2mm.nii.gz` of the niivue images: there the head outline carries the scale),
with each result's volume ratio det(atlasToScan), its flags, the record's basin-stage
decision (`contrast.basin`: distances, the head-shell similarities that ranked, whether the
prediction's basin was used) and the cross-contrast retry's head-shell similarities. Not run by `swift test`; the images are not bundled (see
real_scans.py). Run it with two builds (e.g. one of commit acfe41d, before the stage) to compare:

    python3 Tests/Scripts/proxy_distance.py --stnreg .build/release/stnreg --images DIR --work WORK
"""
import argparse, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_scans

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../TestVolumes/mni152_t1_2mm.nii.gz'))
ap.add_argument('--proxy', help='default: IMAGES/register/MNI152_T1_2mm.nii.gz')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
proxy = args.proxy or os.path.join(args.images, 'register/MNI152_T1_2mm.nii.gz')
dist = real_scans.brain_distance(args.atlas)
log = os.path.join(args.work, 'audit.jsonl')

def align(scan, atlas, out):
    return real_scans.align(args.stnreg, scan, atlas, out, log=log)

for name, path in real_scans.scan_paths(args.images, args.work).items():
    r = align(path, args.atlas, os.path.join(args.work, name))
    q = align(path, proxy, os.path.join(args.work, name + '_proxy'))
    m, p = np.array(r['atlasToScan']), np.array(q['atlasToScan'])
    basin = (r.get('contrast') or {}).get('basin')
    decision = 'no basin stage'
    if basin:
        decision = 'basin: levels %.1f mm from it, kept %s' % (basin['levelsDistanceMM'], basin['kept'])
        if basin.get('levelsFromBasinDistanceMM') is not None:
            decision += ' (from the prediction: %s; runners-up tried %s, used rank %s; levels from its result %.1f mm from it; head-shell NGF levels %.3f, candidate %.3f)' % (
                basin.get('fromPrediction'), basin.get('runnersUpTried'), basin.get('fromRunnerUp'), basin['levelsFromBasinDistanceMM'], basin['levelsHeadShellSimilarity'], basin['candidateHeadShellSimilarity'])
    retry = (r.get('contrast') or {}).get('crossContrastRetry')
    if retry and retry.get('retryHeadShellSimilarity') is not None:
        decision += '; retry kept %s (head-shell similarity same-contrast %.3f, retry %.3f)' % (
            retry['kept'], retry['sameContrastHeadShellSimilarity'], retry['retryHeadShellSimilarity'])
    print('%-9s %5.2f mm from the proxy  volume ratio %.2f (proxy %.2f)  flags %s  %s' % (
        name, dist(m, p), np.linalg.det(m[:3, :3]), np.linalg.det(p[:3, :3]), ','.join(r['flags']) or '-', decision), flush=True)
