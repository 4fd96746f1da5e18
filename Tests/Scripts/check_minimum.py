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
import numpy as np, nibabel as nib

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

scans = {'chris_t1': 'chris_t1.nii.gz', 'chris_PD': 'chris_PD.nii.gz', 'T2w': 'register/T2w.nii.gz',
         'dwi': 'register/dwi.nii.gz', 'fmri': 'register/fmri.nii.gz'}
paths = {k: os.path.join(args.images, v) for k, v in scans.items()}
epi = nib.load(os.path.join(os.path.dirname(nib.__file__), 'tests/data/example4d.nii.gz'))
paths['epi0'] = os.path.join(args.work, 'epi0.nii.gz')
nib.save(nib.Nifti1Image(np.asarray(epi.dataobj)[..., 0].astype(np.float32), epi.affine), paths['epi0'])

def rotation(axis, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees)); R = np.eye(4)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    R[i, i] = c; R[j, j] = c; R[i, j] = -s; R[j, i] = s
    return R
rotations = [rotation(0, 50), rotation(2, -70), rotation(1, 100)]

def align(path, name, protocol=None):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '-q'] + (['--protocol', protocol] if protocol else []),
                   check=True, capture_output=True, env=env)
    return json.load(open(out + '_transform.json'))

a = nib.load(args.atlas); A = a.get_fdata()
ijk = np.argwhere(A > np.percentile(A[A > 0], 40))[::7]
X = a.affine @ np.c_[ijk, np.ones(len(ijk))].T
dist = lambda M, R: np.linalg.norm(((np.array(M) - R) @ X)[:3], axis=0).mean()
row = lambda name, j, d: print('%-26s %8s  NMI %.4f (minimum %s)  flags %s' % (
    name, '' if d is None else '%.2f mm' % d, j['similarityAfter'], j.get('similarityMinimum'), ','.join(j['flags']) or 'none'))
for k, path in paths.items():
    base = align(path, k)
    row(k, base, None)
    im = nib.load(path); data = np.asarray(im.dataobj)
    for n, R in enumerate(rotations):
        rotated = os.path.join(args.work, '%s_r%d.nii.gz' % (k, n))
        o = nib.Nifti1Image(data[..., 0] if data.ndim > 3 else data, R @ im.affine)
        o.header.set_qform(R @ im.affine, 1); o.header.set_sform(R @ im.affine, 1)
        nib.save(o, rotated)
        truth = R @ np.array(base['atlasToScan'])
        for mode, protocol in (('default', None), ('no-search', no_search)):
            j = align(rotated, '%s_r%d_%s' % (k, n, mode), protocol)
            row('  r%d %s' % (n, mode), j, dist(j['atlasToScan'], truth))
