#!/usr/bin/env python3
"""Prototype behind the README's "head shell" figures (session 7; not product code, not run by
`swift test`): a skull-stripped atlas given a synthetic head around its brain — by distance d
from the brain mask, 0-2 mm "CSF" (0.10 of the atlas's 99th percentile), 2-7 mm "skull" (0.02),
7-13 mm "scalp" (0.60), blurred by 1 mm — so that a scan with skull has somewhere to put its
skull and scalp instead of fitting the atlas brain to its whole head. Registers each real scan
with `stnreg align` (default protocol) to the plain and to the shelled atlas and prints the scale
of the result and, where the truth is known (`chris_PD`: the T1's registration to the plain atlas
composed with the same-subject rigid PD -> T1, `chris_truth.py` — the headers do not align the
two), the mean distance over the atlas brain from it. With `--overlays`,
writes a PNG per atlas (the atlas brain's outline over each warped scan).

    python3 Tests/Scripts/head_shell.py --stnreg .build/release/stnreg --images DIR --work DIR [--overlays] [--product-shell-off]

Since session 8 the default itself uses a head shell (`contrast.headShell`: the product's own, on
the cross-contrast path's searches and coarsest level only), so the "plain" arm here is the
default with it and the "shell" arm adds this script's shell on every level; `--product-shell-off`
runs both arms with `headShell: off` (a protocol copy in WORK), which reproduces the session-7
figures.

DIR holds images of github.com/niivue/niivue-demo-images (CC BY-NC, not bundled):
chris_t1, chris_PD, and register/T2w, register/dwi, register/fmri saved as reg_T2w, reg_dwi,
reg_fmri (.nii.gz); missing ones are skipped.
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib
from scipy import ndimage as ndi
import chris_truth

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
ap.add_argument('--overlays', action='store_true')
ap.add_argument('--product-shell-off', action='store_true')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
protocol = []
if args.product_shell_off:
    shipped = os.path.join(here, '../../Protocols')
    p = json.load(open(os.path.join(shipped, 'brain-affine.json')))
    p['contrast']['headShell'] = 'off'
    json.dump(p, open(os.path.join(args.work, 'brain-affine-shell-off.json'), 'w'), indent=2)
    model = os.path.join(args.work, p['network']['model'])
    if not os.path.exists(model):
        os.symlink(os.path.abspath(os.path.join(shipped, p['network']['model'])), model)
    protocol = ['--protocol', os.path.join(args.work, 'brain-affine-shell-off.json')]

img = nib.load(args.atlas); A = img.get_fdata().astype(np.float32); zooms = np.array(img.header.get_zooms()[:3])
hi = np.percentile(A[A > 0], 99)
brain = ndi.binary_fill_holes(ndi.gaussian_filter(A, 1) > 0.05 * hi)
d = ndi.distance_transform_edt(~brain, sampling=zooms)
shell = np.zeros_like(A)
shell[(d > 0) & (d <= 2)] = 0.10; shell[(d > 2) & (d <= 7)] = 0.02; shell[(d > 7) & (d <= 13)] = 0.60
shell = ndi.gaussian_filter(shell, 1.0 / zooms) * hi
shelled = os.path.join(args.work, 'atlas_head_shell.nii.gz')
nib.save(nib.Nifti1Image(np.where(brain, A, shell).astype(np.float32), img.affine, img.header), shelled)

def align(scan, atlas, name):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', scan, atlas, '-o', out, '-q'] + protocol, check=True, capture_output=True)
    return json.load(open(out + '_transform.json')), out + '_warped.nii.gz'

pts = np.argwhere(A > np.percentile(A[A > 0], 30))[::50]; X = pts @ img.affine[:3, :3].T + img.affine[:3, 3]
dist = lambda T, R: chris_truth.mean_distance(T, R, X)
truth = None   # chris_PD's true placement: chris_t1's registration to the plain atlas (the first one below), then the rigid
warped = {'plain': [], 'shell': []}
for name in ['chris_t1', 'chris_PD', 'reg_T2w', 'reg_dwi', 'reg_fmri']:
    path = os.path.join(args.images, name + '.nii.gz')
    if not os.path.exists(path):
        continue
    for label, atlas in (('plain', args.atlas), ('shell', shelled)):
        r, w = align(path, atlas, '%s_%s' % (name, label))
        warped[label].append((name, w))
        if name == 'chris_t1' and label == 'plain':
            pd_path = os.path.join(args.images, 'chris_PD.nii.gz')
            if os.path.exists(pd_path):
                truth = chris_truth.pd_truth(r['atlasToScan'], chris_truth.same_subject_rigid(args.stnreg, path, pd_path, args.work))
        scale = ' '.join('%.3f' % s for s in r['decomposition']['scale'])
        known = name == 'chris_PD' and truth is not None
        far = ', %.2f mm from its true placement' % dist(r['atlasToScan'], truth) if known else ''
        # `flags` holds the failure flags and the notes alike (the CLI prints them apart).
        print('%-9s %-5s scale %s, flags and notes %s%s' % (name, label, scale, ','.join(r['flags']) or 'none', far))
if args.overlays:
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    centre = [s // 2 for s in A.shape]
    for label, items in warped.items():
        fig, ax = plt.subplots(len(items), 3, figsize=(9, 3 * len(items)), squeeze=False)
        for r, (name, w) in enumerate(items):
            W = nib.load(w).get_fdata()
            for k in range(3):
                s = [slice(None)] * 3; s[k] = centre[k]
                ax[r, k].imshow(W[tuple(s)].T, origin='lower', cmap='gray')
                ax[r, k].contour(brain[tuple(s)].T.astype(float), [0.5], colors='r', linewidths=0.5)
                ax[r, k].set_xticks([]); ax[r, k].set_yticks([])
            ax[r, 0].set_ylabel(name)
        plt.tight_layout(); plt.savefig(os.path.join(args.work, 'overlays_%s.png' % label), dpi=70); plt.close()

# The oracle bound on the PD: the PD masked by the atlas brain carried through its true placement
# (the true brain, exactly, then grown by 4 mm), registered to the plain atlas.
pd = os.path.join(args.images, 'chris_PD.nii.gz')
if truth is not None and os.path.exists(pd):
    from scipy.ndimage import map_coordinates
    s = nib.load(pd); S = s.get_fdata().astype(np.float32)
    T = np.linalg.inv(np.array(truth))
    idx = np.indices(S.shape).reshape(3, -1).T
    Y = (idx @ s.affine[:3, :3].T + s.affine[:3, 3]) @ T[:3, :3].T + T[:3, 3]
    v = (Y - img.affine[:3, 3]) @ np.linalg.inv(img.affine[:3, :3]).T
    inside = map_coordinates(brain.astype(np.float32), v.T, order=1).reshape(S.shape) > 0.5
    for grow in (0, 4):
        m = inside if grow == 0 else ndi.distance_transform_edt(~inside, sampling=s.header.get_zooms()[:3]) <= grow
        path = os.path.join(args.work, 'chris_PD_true_brain_grown%d.nii.gz' % grow)
        nib.save(nib.Nifti1Image(S * m, s.affine, s.header), path)
        r, _ = align(path, args.atlas, 'chris_PD_true_brain_grown%d' % grow)
        print('chris_PD masked by its true brain grown by %d mm: %.2f mm from its true placement, flags and notes %s'
              % (grow, dist(r['atlasToScan'], truth), ','.join(r['flags']) or 'none'))
