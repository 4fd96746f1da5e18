#!/usr/bin/env python3
"""Which of the two is right when the network's prediction and `align`'s result disagree: each
real scan of prediction_distance.py resampled into the atlas through the record's
`predictedAtlasToScan` and through its `atlasToScan`, three central slices each, the atlas
brain's outline in red. Not run by `swift test`; reads the transform records that
prediction_distance.py left in WORK:

    python3 Tests/Scripts/prediction_distance.py --stnreg BIN --images DIR --work WORK brain-affine
    python3 Tests/Scripts/prediction_overlay.py --images DIR --work WORK -o overlay.png

Also prints, per scan, the volume ratio det(atlasToScan) of each (against the TestVolumes
MNI152, the real scans right on both overlays measured 0.75-0.85; a head squeezed into the atlas
brain shows as a ratio well above that: 1.26 and 1.58, README)."""
import argparse, json, os, sys
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates
import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_scans

ap = argparse.ArgumentParser()
ap.add_argument('--images', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--protocol', default='brain-affine', help='the protocol stem in the records\' names')
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
ap.add_argument('-o', '--output', required=True)
args = ap.parse_args()

atlas = nib.load(args.atlas); a = atlas.get_fdata()
outline = np.percentile(a[a > 0], 30)
grid = np.vstack([np.indices(a.shape).reshape(3, -1), np.ones(a.size)])
centre = [n // 2 for n in a.shape]


def warped(scan, atlas_to_scan):
    data = np.asarray(scan.dataobj, dtype=np.float32)
    if data.ndim > 3: data = data[..., 0]
    m = np.linalg.inv(scan.affine) @ atlas_to_scan @ atlas.affine
    return map_coordinates(data, (m @ grid)[:3], order=1).reshape(a.shape)


rows = []
for name, path in real_scans.scan_paths(args.images, args.work).items():
    record = os.path.join(args.work, '%s_%s_transform.json' % (name, args.protocol))
    if not os.path.exists(record): continue
    d = json.load(open(record))
    if d.get('predictedAtlasToScan') is None: continue
    scan = nib.load(path)
    for label, key in (('prediction', 'predictedAtlasToScan'), ('result', 'atlasToScan')):
        t = real_scans.homogeneous(d[key])
        rows.append(('%s %s' % (name, label), warped(scan, t)))
        print('%-9s %-10s volume ratio %.3f' % (name, label, np.linalg.det(t[:3, :3])))

fig, ax = plt.subplots(len(rows), 3, figsize=(7.5, 2.5 * len(rows)), squeeze=False)
for r, (title, w) in enumerate(rows):
    for k, (img, ref) in enumerate([(w[centre[0]], a[centre[0]]), (w[:, centre[1]], a[:, centre[1]]), (w[:, :, centre[2]], a[:, :, centre[2]])]):
        ax[r, k].imshow(img.T, origin='lower', cmap='gray')
        ax[r, k].contour(ref.T, levels=[outline], colors='r', linewidths=0.5, origin='lower')
        ax[r, k].axis('off')
    ax[r, 0].set_title(title, fontsize=8, loc='left')
plt.tight_layout()
plt.savefig(args.output, dpi=60)
print('wrote', args.output)
