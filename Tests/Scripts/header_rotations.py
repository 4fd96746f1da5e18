#!/usr/bin/env python3
"""The README's header-rotation figures: each real scan registered by `stnreg align` (default
protocol) as it comes and rotated in its header six ways (50° about x, -70° about z, 100° about y,
12° about x, 20° about z, -15° about y: the voxels unchanged, so the right answer is the same
placement of the same voxels). Each result is taken back to the unrotated scan's frame; printed:
the checked NMI of each, the mean distance (over the atlas brain) of each from the unrotated
result, the largest distance between any two, and with `--proxy ATLAS` each one's distance from
the unrotated scan's registration to ATLAS (e.g. FSL's MNI152 with skull, the same MNI space: a
proxy truth where the skull-stripped atlas leaves the scale to the head outline).
Not run by `swift test`; the images are not bundled (CC BY-NC): `chris_t1.nii.gz`,
`chris_PD.nii.gz` and `register/{T2w,dwi,fmri,MNI152_T1_2mm}.nii.gz` of
github.com/niivue/niivue-demo-images, and frame 0 of nibabel's `tests/data/example4d.nii.gz`.

    python3 Tests/Scripts/header_rotations.py --stnreg .build/release/stnreg --images DIR --work /tmp/hr \\
        [--scans dwi,epi0,...] [--atlas ATLAS] [--proxy DIR/register/MNI152_T1_2mm.nii.gz] [-- EXTRA ALIGN ARGS]
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True, help='folder holding chris_t1/chris_PD and register/T2w, dwi, fmri (.nii.gz)')
ap.add_argument('--work', required=True)
ap.add_argument('--scans', default='chris_t1,chris_PD,T2w,dwi,fmri,epi0')
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
ap.add_argument('--proxy')
ap.add_argument('extra', nargs='*', help='more arguments for stnreg align (after --)')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
env = dict(os.environ, STNREG_PROTOCOLS=os.path.join(here, '../../Protocols'))

scans = {'chris_t1': 'chris_t1.nii.gz', 'chris_PD': 'chris_PD.nii.gz', 'T2w': 'register/T2w.nii.gz',
         'dwi': 'register/dwi.nii.gz', 'fmri': 'register/fmri.nii.gz'}
paths = {k: os.path.join(args.images, v) for k, v in scans.items()}
paths['epi0'] = os.path.join(args.work, 'epi0.nii.gz')
if not os.path.exists(paths['epi0']):
    epi = nib.load(os.path.join(os.path.dirname(nib.__file__), 'tests/data/example4d.nii.gz'))
    nib.save(nib.Nifti1Image(np.asarray(epi.dataobj)[..., 0].astype(np.float32), epi.affine), paths['epi0'])

def rotation(axis, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees)); R = np.eye(4)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    R[i, i] = c; R[j, j] = c; R[i, j] = -s; R[j, i] = s
    return R
rotations = [rotation(0, 50), rotation(2, -70), rotation(1, 100), rotation(0, 12), rotation(2, 20), rotation(1, -15)]

def align(path, name, atlas):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', path, atlas, '-o', out, '-q'] + args.extra, check=True, capture_output=True, env=env)
    return json.load(open(out + '_transform.json'))

a = nib.load(args.atlas); A = a.get_fdata()
ijk = np.argwhere(A > np.percentile(A[A > 0], 40))[::7]
X = a.affine @ np.c_[ijk, np.ones(len(ijk))].T
dist = lambda M, R: np.linalg.norm(((M - R) @ X)[:3], axis=0).mean()
for k in args.scans.split(','):
    im = nib.load(paths[k]); data = np.asarray(im.dataobj)
    results = [(np.eye(4), align(paths[k], k, args.atlas))]
    for n, R in enumerate(rotations):
        rotated = os.path.join(args.work, '%s_r%d.nii.gz' % (k, n))
        o = nib.Nifti1Image(data[..., 0] if data.ndim > 3 else data, R @ im.affine)
        o.header.set_qform(R @ im.affine, 1); o.header.set_sform(R @ im.affine, 1)
        nib.save(o, rotated)
        results.append((R, align(rotated, '%s_r%d' % (k, n), args.atlas)))
    Ms = [np.linalg.inv(R) @ np.array(j['atlasToScan']) for R, j in results]
    spread = max(dist(Ms[i], Ms[j]) for i in range(len(Ms)) for j in range(i))
    print('%-9s NMI %s' % (k, ' '.join('%.4f' % j['similarityAfter'] for _, j in results)))
    print('          from the unrotated result (mm): %s; largest between two %.2f mm'
          % (' '.join('%.2f' % dist(M, Ms[0]) for M in Ms[1:]), spread))
    if args.proxy:
        P = np.array(align(paths[k], k + '_proxy', args.proxy)['atlasToScan'])
        print('          from the proxy (mm): %s' % ' '.join('%.2f' % dist(M, P) for M in Ms))
