#!/usr/bin/env python3
"""Prototype behind BENCHMARKS "Where the SQNR goes": equalizes depthwise-conv inputs as an fp32 graph transform.

    equalize_prototype.py OPTIMIZED_MODEL IMAGES_DIR det|rec N OUT [ALPHA] [PW_ALPHA]

OPTIMIZED_MODEL: `hone optimize` output. Runs build/hone on the first N images (preprocessed as quantize_bench.sh
does) with the depthwise inputs exposed, takes per-channel 0.01/99.99 percentiles and mean squares, and writes OUT
with a Mul by 1/s before each depthwise conv and its weights times s (PW_ALPHA >= 0: also pointwise convs,
SmoothQuant-style). Then `hone quantize OUT ...` and `hone eval ... --reference ORIGINAL`. An experiment, not a tool.
"""
import sys, os, subprocess, numpy as np, onnx
from onnx import numpy_helper, helper
from PIL import Image
model, imgdir, kind, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
alpha = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
pw_alpha = float(sys.argv[7]) if len(sys.argv) > 7 else -1
files = sorted(os.listdir(imgdir))[:n]
if kind == 'det': mean, std = np.array([0.485,0.456,0.406]), np.array([0.229,0.224,0.225])
else: mean, std = np.array([0.5]*3), np.array([0.5]*3)
xs = []
for f in files:
    im = np.asarray(Image.open(os.path.join(imgdir, f)).convert('RGB'), dtype=np.float32)[:, :, ::-1] / 255.0
    xs.append(((im - mean) / std).transpose(2, 0, 1))
x = np.stack(xs).astype(np.float32)
m = onnx.load(model)
g = m.graph
init = {i.name: i for i in g.initializer}
dw = []
for node in g.node:
    if node.op_type != 'Conv': continue
    grp = [a.i for a in node.attribute if a.name == 'group']
    grp = grp[0] if grp else 1
    w = numpy_helper.to_array(init[node.input[1]])
    if grp > 1 and w.shape[1] == 1 and w.shape[0] == grp: dw.append(node)
    elif pw_alpha >= 0 and grp == 1 and node.input[0] != 'x' and w.shape[1] > 1: dw.append(node)
tensors = sorted({d.input[0] for d in dw})
m2 = onnx.load(model)
for t in tensors: m2.graph.output.append(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
tmp = 'build/equalize_prototype'; os.makedirs(tmp, exist_ok=True)
onnx.save(m2, tmp + '/m.onnx'); np.save(tmp + '/x.npy', x)
subprocess.run(['build/hone', 'run', tmp + '/m.onnx', '--input', 'x=' + tmp + '/x.npy', '--output-dir', tmp + '/out', '--force'], check=True, stdout=subprocess.DEVNULL)
scales = {}
for t in tensors:
    a = np.load(tmp + '/out/' + t + '.npy')
    c = a.shape[1]
    v = a.transpose(1, 0, 2, 3).reshape(c, -1)
    lo = np.minimum(np.percentile(v, 0.01, axis=1), 0); hi = np.maximum(np.percentile(v, 99.99, axis=1), 1e-6)
    ms = (v ** 2).mean(axis=1) + 1e-12
    best = None
    for rho in sorted(set(np.clip(-lo / hi, 0, 1e3))):
        s = np.maximum(-lo / max(rho, 1e-9), hi) if rho > 0 else hi
        s = s / s.max()
        loss = (s ** 2 / ms).sum()
        if best is None or loss < best[0]: best = (loss, s)
    s = best[1] ** alpha
    users = [d for d in dw if d.input[0] == t]
    wt = numpy_helper.to_array(init[users[0].input[1]])
    if wt.shape[1] != 1:
        if len(users) > 1: continue
        mw = np.abs(wt).max(axis=(0, 2, 3)) + 1e-12
        mx = np.maximum(-lo, hi)
        s = (mx ** pw_alpha) / (mw ** (1 - pw_alpha)); s = s / s.max()
    s = np.maximum(s, 1.0 / 64)   # amplification at most 64x
    spread = hi.max() / np.median(hi)
    print(f'{t}: {c} channels, hi max/median {spread:.1f}, s min {s.min():.3f}')
    scales[t] = s.astype(np.float32)
# Transform: Mul(1/s) before each dw conv, dw weights * s.
new_nodes = []
consumer_rewrite = {}
for node in g.node:
    if node in dw and node.input[0] in scales:
        t = node.input[0]
        s = scales[t]
        sn = t + '_eq_inv'
        if sn not in init:
            g.initializer.append(numpy_helper.from_array((1.0 / s).reshape(1, -1, 1, 1).astype(np.float32), sn))
            init[sn] = g.initializer[-1]
            new_nodes.append(helper.make_node('Mul', [t, sn], [t + '_eq'], name=t + '_Equalize'))
        node.input[0] = t + '_eq'
        w = init[node.input[1]]
        wa = numpy_helper.to_array(w)
        wa = wa * (s.reshape(-1, 1, 1, 1) if wa.shape[1] == 1 else s.reshape(1, -1, 1, 1))
        w.CopyFrom(numpy_helper.from_array(wa.astype(np.float32), w.name))
    new_nodes.append(node)
del g.node[:]
g.node.extend(new_nodes)
onnx.save(m, out)
print('wrote', out)
