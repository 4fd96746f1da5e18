#!/usr/bin/env python3
"""The figures behind `limits.minFinalSimilarityBrainAtlas` (Protocols/README.md): real scans of
several contrasts registered by the default `stnreg align` to an atlas, with the checked NMI and
flags of each result; then each scan rotated in its header (50° about x, -70° about z, 100° about
y) and registered twice — by the default, and by a protocol with no search (no network, no
rotation or translation search: refinement alone, which ends far off and gives known-wrong
results) — each with its mean distance over the atlas from the unrotated default result.
Not run by `swift test`; the images are not bundled (CC BY-NC): `chris_t1.nii.gz`,
`chris_PD.nii.gz` and `register/{T2w,dwi,fmri}.nii.gz` of github.com/niivue/niivue-demo-images,
and frame 0 of nibabel's `tests/data/example4d.nii.gz`.

    python3 Tests/Scripts/check_minimum.py --stnreg .build/release/stnreg --images DIR --work /tmp/check \\
        [--atlas ../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz]
"""
import argparse, json, os, subprocess
import numpy as np
from real_scans import HEADER_ROTATIONS, brain_distance, scan_paths, write_rotated

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True, help='folder holding chris_t1/chris_PD and register/T2w, dwi, fmri (.nii.gz)')
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
protocols = os.path.join(here, '../../Protocols')
env = dict(os.environ, STNREG_PROTOCOLS=protocols)

p = json.load(open(os.path.join(protocols, 'brain-affine.json')))
del p['network'], p['training']
p['initialisation'].update(translationSearch=False, rotationSearch='never')
p['name'] = 'no-search'
no_search = os.path.join(args.work, 'no-search.json')
json.dump(p, open(no_search, 'w'), indent=1)

paths = scan_paths(args.images, args.work)
rotations = HEADER_ROTATIONS[:3]

def align(path, name, protocol=None):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '-q'] + (['--protocol', protocol] if protocol else []),
                   check=True, capture_output=True, env=env)
    return json.load(open(out + '_transform.json'))

dist = brain_distance(args.atlas)
row = lambda name, j, d: print('%-26s %8s  NMI %.4f (minimum %s)  flags %s' % (
    name, '' if d is None else '%.2f mm' % d, j['similarityAfter'], j.get('similarityMinimum'), ','.join(j['flags']) or 'none'))
for k, path in paths.items():
    base = align(path, k)
    row(k, base, None)
    for n, R in enumerate(rotations):
        rotated = os.path.join(args.work, '%s_r%d.nii.gz' % (k, n))
        write_rotated(path, R, rotated)
        truth = R @ np.array(base['atlasToScan'])
        for mode, protocol in (('default', None), ('no-search', no_search)):
            j = align(rotated, '%s_r%d_%s' % (k, n, mode), protocol)
            row('  r%d %s' % (n, mode), j, dist(j['atlasToScan'], truth))
