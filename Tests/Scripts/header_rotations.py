#!/usr/bin/env python3
"""The README's header-rotation figures: each real scan registered by `stnreg align` (default
protocol) as it comes and rotated in its header six ways (50° about x, -70° about z, 100° about y,
12° about x, 20° about z, -15° about y: the voxels unchanged, so the right answer is the same
placement of the same voxels). Each result is taken back to the unrotated scan's frame; printed:
the checked NMI of each, the mean distance (over the atlas brain) of each from the unrotated
result, the largest distance between any two, and with `--proxy ATLAS` each one's distance from
the unrotated scan's registration to ATLAS (e.g. FSL's MNI152 with skull, the same MNI space: a
proxy truth where the skull-stripped atlas leaves the scale to the head outline). With `--ants`,
ANTs `Affine` (antspyx, its defaults, `random_seed` 1) on the same seven files: the largest
distance between any two of its results, each one's distance from its unrotated result, and
stnreg's seven from ANTs' unrotated one (slow: 20-45 s per file on 2 cores).
Extra `stnreg align` arguments after `--` (e.g. `-- --protocol FILE`; the README's EPI figures
used copies of brain-affine.json with `convergenceMM` 0.002 and every level's iterations tripled,
and with `transform` "similarity").
Not run by `swift test`; the images are not bundled (CC BY-NC): `chris_t1.nii.gz`,
`chris_PD.nii.gz` and `register/{T2w,dwi,fmri,MNI152_T1_2mm}.nii.gz` of
github.com/niivue/niivue-demo-images, and frame 0 of nibabel's `tests/data/example4d.nii.gz`.

    python3 Tests/Scripts/header_rotations.py --stnreg .build/release/stnreg --images DIR --work /tmp/hr \\
        [--scans dwi,epi0,...] [--atlas ATLAS] [--proxy DIR/register/MNI152_T1_2mm.nii.gz] [--ants] [-- EXTRA ALIGN ARGS]
"""
import argparse, json, os, subprocess
import numpy as np
from real_scans import HEADER_ROTATIONS, brain_distance, scan_paths, write_rotated

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True, help='folder holding chris_t1/chris_PD and register/T2w, dwi, fmri (.nii.gz)')
ap.add_argument('--work', required=True)
ap.add_argument('--scans', default='chris_t1,chris_PD,T2w,dwi,fmri,epi0')
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
ap.add_argument('--proxy')
ap.add_argument('--ants', action='store_true')
ap.add_argument('extra', nargs='*', help='more arguments for stnreg align (after --)')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
env = dict(os.environ, STNREG_PROTOCOLS=os.path.join(here, '../../Protocols'))

paths = scan_paths(args.images, args.work)

def align(path, name, atlas):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', path, atlas, '-o', out, '-q'] + args.extra, check=True, capture_output=True, env=env)
    return json.load(open(out + '_transform.json'))

def ants_affine(path):
    import ants, chris_truth
    r = ants.registration(ants.image_read(args.atlas), ants.image_read(path), type_of_transform='Affine', random_seed=1)
    return chris_truth.ants_matrix(ants.read_transform(r['fwdtransforms'][0]))

dist = brain_distance(args.atlas)
spread = lambda Ms: max(dist(Ms[i], Ms[j]) for i in range(len(Ms)) for j in range(i))
for k in args.scans.split(','):
    files = [(np.eye(4), paths[k], k)]
    for n, R in enumerate(HEADER_ROTATIONS):
        rotated = os.path.join(args.work, '%s_r%d.nii.gz' % (k, n))
        write_rotated(paths[k], R, rotated)
        files.append((R, rotated, '%s_r%d' % (k, n)))
    results = [align(f, name, args.atlas) for _, f, name in files]
    Ms = [np.linalg.inv(R) @ np.array(j['atlasToScan']) for (R, _, _), j in zip(files, results)]
    print('%-9s NMI %s' % (k, ' '.join('%.4f' % j['similarityAfter'] for j in results)))
    print('          from the unrotated result (mm): %s; largest between two %.2f mm'
          % (' '.join('%.2f' % dist(M, Ms[0]) for M in Ms[1:]), spread(Ms)))
    if args.proxy:
        P = np.array(align(paths[k], k + '_proxy', args.proxy)['atlasToScan'])
        print('          from the proxy (mm): %s' % ' '.join('%.2f' % dist(M, P) for M in Ms))
    if args.ants:
        As = [np.linalg.inv(R) @ ants_affine(f) for R, f, _ in files]
        print('          ANTs: from its unrotated result (mm): %s; largest between two %.2f mm'
              % (' '.join('%.2f' % dist(M, As[0]) for M in As[1:]), spread(As)))
        print('          stnreg from ANTs\' unrotated result (mm): %s' % ' '.join('%.2f' % dist(M, As[0]) for M in Ms))
