#!/usr/bin/env python3
"""How far the contrast alone moves a cross-subject registration, stnreg beside ANTs: the bound
behind the contrast benchmark's cross-subject column (`stnbench accuracy … --contrast`, whose
truth for a Colin27 rendering is stnreg's registration of Colin27's *T1*).

Each of Colin27's renderings (`stnbench render-contrasts DIR 1 0`: T2, PD, FLAIR from its tissue
memberships, with skull and brain only; unmoved, no noise) and the T1 they were rendered from
(TestVolumes/colin27_t1_2mm.nii.gz, colin27_brain_2mm.nii.gz) are registered to the 2 mm MNI152
(TestVolumes) by `stnreg align` (default) and by ANTs `Affine` (Mattes MI, antspyx defaults,
random_seed 1). Printed per tool: each rendering's mean distance (over the atlas brain,
real_scans.brain_distance) from the same tool's registration of the T1 — what the contrast
alone does to that tool's answer, with no move, no noise and no bias. A tool whose renderings
end d mm from its own T1 result cannot score below about d on the benchmark's cross-subject
cases, whose truth is a T1 result.

    swift run -c release stnbench render-contrasts DIR 1 0
    python3 Tests/Scripts/contrast_bias.py --stnreg .build/release/stnreg --renderings DIR --work WORK [--no-ants] \
        [--scans colin27_t1_2mm,colin27_brain_2mm] [-- EXTRA STNREG ALIGN ARGS]

Extra `stnreg align` arguments after `--` (e.g. `-- --protocol FILE`) apply to stnreg's runs
of the renderings; its T1 references stay the default's: the README's with-skull figures of the 6 mm level alone and of the
remap switched off used copies of brain-affine.json with `levels` cut to its first entry and
with `contrast.intensityRemap` "off" (`--no-ants --scans colin27_t1_2mm -- --protocol COPY`).

Not run by `swift test` (ANTs takes 20–60 s per registration on 2 cores).
"""
import argparse, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from real_scans import align, brain_distance
from chris_truth import ants_matrix

here = os.path.dirname(os.path.abspath(__file__))
volumes = os.path.join(here, '../../TestVolumes')
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--renderings', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--no-ants', action='store_true')
ap.add_argument('--scans', default='colin27_t1_2mm,colin27_brain_2mm')
ap.add_argument('extra', nargs='*', help='more arguments for stnreg align (after --)')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
atlas = os.path.join(volumes, 'mni152_t1_2mm.nii.gz')
dist = brain_distance(atlas)


def stnreg(path, extra=()):
    out = os.path.join(args.work, os.path.basename(path).replace('.nii.gz', ''))
    return np.array(align(args.stnreg, path, atlas, out, extra, log=os.path.join(args.work, 'audit.jsonl'))['atlasToScan'])


def ants(path):
    import ants as a
    r = a.registration(a.image_read(atlas), a.image_read(path), type_of_transform='Affine', aff_metric='mattes', random_seed=1)
    return ants_matrix(a.read_transform(r['fwdtransforms'][0]))


tools = [('stnreg', stnreg, lambda p: stnreg(p, args.extra))] + ([] if args.no_ants else [('ANTs', ants, ants)])
for scan in args.scans.split(','):
    t1 = os.path.join(volumes, scan + '.nii.gz')
    for name, register, register_rendering in tools:
        reference = register(t1)
        line = []
        for contrast in ['t1', 't2', 'pd', 'flair']:
            M = register_rendering(os.path.join(args.renderings, '%s_%s.nii.gz' % (scan, contrast)))
            line.append('%s %.3f' % (contrast, dist(M, reference)))
        print('%-18s %-6s from its T1 registration (mm): %s' % (scan, name, '  '.join(line)), flush=True)
