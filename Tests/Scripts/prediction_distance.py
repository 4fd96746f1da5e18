#!/usr/bin/env python3
"""How far the network's prediction ends from the final result on the real scans of
real_scans.py (not bundled; see its docstring), for one or more protocols. Not run by `swift test`.
The README's figures ("The centroid head", "On scans we do not have"):

    python3 Tests/Scripts/prediction_distance.py --stnreg .build/release/stnreg --images DIR --work WORK \\
        brain-affine OLD_PROTOCOL.json

(DIR holds chris_t1.nii.gz, chris_PD.nii.gz and register/{T2w,dwi,fmri}.nii.gz of
github.com/niivue/niivue-demo-images; OLD_PROTOCOL.json: a copy of an older preset whose
`network.model` names an older model.) Per scan and protocol: the mean distance over the atlas
brain between `predictedAtlasToScan` and `atlasToScan` of the transform record, the last
application's move, and the flags (`predictionDisagreement` compares the atlas box's corners
against 10 mm)."""
import argparse, json, os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_scans

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
ap.add_argument('protocols', nargs='+')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
dist = real_scans.brain_distance(args.atlas)
for name, path in real_scans.scan_paths(args.images, args.work).items():
    row = [name]
    for proto in args.protocols:
        out = os.path.join(args.work, '%s_%s' % (name, os.path.basename(proto).replace('.json', '')))
        r = subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '--protocol', proto, '-q',
                            '--audit-log', os.path.join(args.work, 'audit.jsonl')], capture_output=True, text=True)
        if r.returncode != 0:
            row.append('%s: failed (%s)' % (proto, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode)); continue
        d = json.load(open(out + '_transform.json'))
        final, predicted = d['atlasToScan'] + [[0, 0, 0, 1]], d.get('predictedAtlasToScan')
        if predicted is None:
            row.append('%s: no prediction' % proto); continue
        row.append('%s: prediction %.1f mm from the result, last move %.1f mm, flags %s' % (
            os.path.basename(proto), dist(predicted + [[0, 0, 0, 1]], final), d.get('predictionLastCorrectionMM') or float('nan'),
            ','.join(d['flags']) or '-'))
    print(' | '.join(row), flush=True)
