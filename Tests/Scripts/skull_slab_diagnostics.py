#!/usr/bin/env python3
"""The README's measurements of "Where the network is nearer than `align`" that are not the
overlay: what a scan-side cost mask from the prediction does, and how the b0's result depends on
the atlas. Not run by `swift test`. Run prediction_distance.py first (its records in WORK):

    python3 Tests/Scripts/prediction_distance.py --stnreg BIN --images DIR --work WORK brain-affine
    python3 Tests/Scripts/skull_slab_diagnostics.py --stnreg BIN --images DIR --work WORK --shared ../shared/data

1. For the T2w slab and the b0: the TestVolumes brain mask dilated by 10 mm, carried into the scan
   by the record's prediction, as `--scan-mask`; prints the share of scan voxels in the mask, the
   result's volume ratio det(atlasToScan) and its flags.
2. The b0 against the 1 mm MNI152 2009a, against the 2 mm TestVolumes atlas resampled onto the
   1 mm grid, and against the 1 mm atlas blurred by 0.85 voxel (σ) and resampled onto the 2 mm
   grid: the volume ratio of each result.

The two other diagnostics of that section change the code; each is a patch to apply to a
checkout before building (`git apply Tests/Scripts/diagnostics/NAME.patch`), then
prediction_distance.py or `stnreg align` as usual:
refine-from-prediction.patch (prints, per path, the refinement from the prediction's checked
and head-shell similarities and volume ratio as progress lines beginning DIAG) and
head-shell-every-level.patch (the head shell on every level of the cross-contrast path)."""
import argparse, json, os, subprocess, sys
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates, distance_transform_edt, gaussian_filter
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_scans

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--shared', required=True, help='../shared/data (the 1 mm MNI152 2009a)')
args = ap.parse_args()
atlas2 = os.path.join(here, '../../TestVolumes/mni152_t1_2mm.nii.gz')
mask2 = os.path.join(here, '../../TestVolumes/mni152_brainmask_2mm.nii.gz')
atlas1 = os.path.join(args.shared, 'mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz')
paths = real_scans.scan_paths(args.images, args.work)


def resample(data, source_affine, target_shape, target_affine, order=1):
    """`data` (on `source_affine`) sampled at the voxels of the target grid."""
    ijk = np.vstack([np.indices(target_shape).reshape(3, -1), np.ones(int(np.prod(target_shape)))])
    m = np.linalg.inv(source_affine) @ target_affine
    return map_coordinates(data, (m @ ijk)[:3], order=order).reshape(target_shape)


def align(scan, atlas, out, *extra):
    subprocess.run([args.stnreg, 'align', scan, atlas, '-o', out, '-q', '--audit-log', os.path.join(args.work, 'diag.jsonl')]
                   + list(extra), capture_output=True, check=True)
    d = json.load(open(out + '_transform.json'))
    return np.linalg.det(real_scans.homogeneous(d['atlasToScan'])[:3, :3]), ','.join(d['flags']) or '-'


m = nib.load(mask2)
dilated = (distance_transform_edt(m.get_fdata() < 0.5, sampling=m.header.get_zooms()[:3]) <= 10).astype(np.float32)
for name in ('T2w', 'dwi'):
    record = json.load(open(os.path.join(args.work, '%s_brain-affine_transform.json' % name)))
    scan = nib.load(paths[name])
    predicted = real_scans.homogeneous(record['predictedAtlasToScan'])
    # The atlas mask placed in the scan's world by the prediction (atlas voxel -> atlas mm -> scan mm).
    mask = resample(dilated, predicted @ m.affine, scan.shape[:3], scan.affine, order=0) > 0.5
    mask_path = os.path.join(args.work, '%s_prediction_mask.nii.gz' % name)
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), scan.affine), mask_path)
    ratio, flags = align(paths[name], atlas2, os.path.join(args.work, '%s_masked' % name), '--scan-mask', mask_path)
    print('%-4s with the prediction mask (%.0f %% of the scan): volume ratio %.3f, flags %s' % (name, 100 * mask.mean(), ratio, flags))

a2, a1 = nib.load(atlas2), nib.load(atlas1)
up = resample(a2.get_fdata().astype(np.float32), a2.affine, a1.shape, a1.affine)
down = resample(gaussian_filter(a1.get_fdata().astype(np.float32), 0.85), a1.affine, a2.shape, a2.affine)
variants = {'1 mm MNI152 2009a': atlas1, '2 mm atlas on the 1 mm grid': os.path.join(args.work, 'atlas_2mm_on_1mm.nii.gz'),
            '1 mm atlas blurred, on the 2 mm grid': os.path.join(args.work, 'atlas_1mm_on_2mm.nii.gz')}
nib.save(nib.Nifti1Image(up, a1.affine), variants['2 mm atlas on the 1 mm grid'])
nib.save(nib.Nifti1Image(down, a2.affine), variants['1 mm atlas blurred, on the 2 mm grid'])
for label, atlas in variants.items():
    ratio, flags = align(paths['dwi'], atlas, os.path.join(args.work, 'dwi_%s' % label.split()[0] + label.split()[-2]))
    print('b0 to the %s: volume ratio %.3f, flags %s' % (label, ratio, flags))
