# docref.py — the UNet and MLP rebuilt in plain Python (double precision) from docs/model.md
# alone, reading the golden .dsw files with the parser sketched there. Exits non-zero unless
# its outputs match the engine's stored outputs within 1e-5 relative (max |diff| / max |ref|),
# which checks that the specification is complete and exact. Run by tests/wasm/engine.test.mjs.
import struct, math, sys
def read_dsw(b):
    version, kind, n_config = struct.unpack_from("<III", b, 4)
    assert b[:4] == b"DSCW" and version in (1, 2)
    config = struct.unpack_from(f"<{n_config}i", b, 16)
    n_tensors = struct.unpack_from("<I", b, 144)[0]
    # version 2: schedule kind, T, prediction target, class names; version 1 means the default
    sched, steps, pred, n_names, names_bytes = struct.unpack_from("<5I", b, 160) if version == 2 else (0, 1000, 0, 0, 0)
    at, names = 256, []
    for _ in range(n_names):
        n = struct.unpack_from("<I", b, at)[0]; names.append(b[at+4:at+4+n].decode()); at += 4 + (n+3)//4*4
    assert at == 256 + names_bytes
    meta = dict(schedule=("linear", "cosine")[sched], T=steps, prediction=("eps", "v", "flow")[pred], class_names=names)
    T = {}
    for _ in range(n_tensors):
        n = struct.unpack_from("<I", b, at)[0]; name = b[at+4:at+4+n].decode(); at += 4 + (n+3)//4*4
        dtype, ndim = struct.unpack_from("<II", b, at); at += 8
        dims = struct.unpack_from(f"<{ndim}I", b, at); at += 4*ndim
        cnt = math.prod(dims); fmt = 'f' if dtype == 0 else 'e'
        if dtype == 2:  # q8: f32 scale per row, int8 values; value = q * scale (exact in double, rounded to f32)
            sc = struct.unpack_from(f"<{dims[0]}f", b, at); q = struct.unpack_from(f"<{cnt}b", b, at+4*dims[0]); per = cnt//dims[0]
            T[name] = (list(struct.unpack(f"<{cnt}f", struct.pack(f"<{cnt}f", *[q[i]*sc[i//per] for i in range(cnt)]))), dims)
            at += (4*dims[0]+cnt+3)//4*4; continue
        T[name] = (list(struct.unpack_from(f"<{cnt}{fmt}", b, at)), dims)
        at += (cnt*(4 if dtype == 0 else 2)+3)//4*4
    return kind, config, T, meta
def silu(v): return [x/(1+math.exp(-x)) if x > -700 else 0.0 for x in v]
def linear(x, W, b, n_in, n_out): return [sum(x[i]*W[o*n_in+i] for i in range(n_in)) + b[o] for o in range(n_out)]
def sinus(t, D):
    h = D//2; f = [math.exp(-math.log(10000)*i/h) for i in range(h)]
    return [math.sin(t*fi) for fi in f] + [math.cos(t*fi) for fi in f]
def gn(x, C, HW, G, w, b, eps=1e-5):
    y = [0.0]*len(x); cpg = C//G
    for g in range(G):
        seg = x[g*cpg*HW:(g+1)*cpg*HW]; m = sum(seg)/len(seg); v = sum((s-m)**2 for s in seg)/len(seg); r = 1/math.sqrt(v+eps)
        for c in range(g*cpg, (g+1)*cpg):
            for i in range(HW): y[c*HW+i] = (x[c*HW+i]-m)*r*w[c]+b[c]
    return y
def conv(x, C, H, W_, Wt, bias, Co, K, stride):
    p = K//2; Ho = (H+2*p-K)//stride+1; Wo = (W_+2*p-K)//stride+1; y = []
    for o in range(Co):
        for oy in range(Ho):
            for ox in range(Wo):
                s = bias[o]
                for c in range(C):
                    for ky in range(K):
                        iy = oy*stride+ky-p
                        if iy < 0 or iy >= H: continue
                        for kx in range(K):
                            ix = ox*stride+kx-p
                            if 0 <= ix < W_: s += Wt[((o*C+c)*K+ky)*K+kx]*x[(c*H+iy)*W_+ix]
                y.append(s)
    return y, Ho, Wo
def unet(T, cfg, x, t, cls):
    S, Cimg, base, L = cfg[0:4]; mult = cfg[4:8]; R, G, E, ncls = cfg[8:12]
    w = lambda n: T[n][0]
    e = silu(linear(sinus(t, E), w("temb.fc1.weight"), w("temb.fc1.bias"), E, E))
    e = linear(e, w("temb.fc2.weight"), w("temb.fc2.bias"), E, E)
    ce = w("class_emb.weight")[cls*E:(cls+1)*E]
    eact = silu([a+b for a, b in zip(e, ce)])
    def res(P, h, cin, cout, s):
        a = silu(gn(h, cin, s*s, G, w(P+"norm1.weight"), w(P+"norm1.bias")))
        a, _, _ = conv(a, cin, s, s, w(P+"conv1.weight"), w(P+"conv1.bias"), cout, 3, 1)
        pr = linear(eact, w(P+"emb.weight"), w(P+"emb.bias"), E, cout)
        a = [a[i] + pr[i//(s*s)] for i in range(len(a))]
        o = silu(gn(a, cout, s*s, G, w(P+"norm2.weight"), w(P+"norm2.bias")))
        o, _, _ = conv(o, cout, s, s, w(P+"conv2.weight"), w(P+"conv2.bias"), cout, 3, 1)
        sk = conv(h, cin, s, s, w(P+"skip.weight"), w(P+"skip.bias"), cout, 1, 1)[0] if cin != cout else h
        return [a_+b_ for a_, b_ in zip(o, sk)]
    C = [base*mult[l] for l in range(L)]
    h, _, _ = conv(x, Cimg, S, S, w("conv_in.weight"), w("conv_in.bias"), C[0], 3, 1)
    ch, s, skips = C[0], S, []
    for l in range(L):
        for r in range(R): h = res(f"down.{l}.res.{r}.", h, ch, C[l], s); ch = C[l]
        skips.append((h, ch))
        if l < L-1: h, s, _ = conv(h, ch, s, s, w(f"down.{l}.downsample.weight"), w(f"down.{l}.downsample.bias"), ch, 3, 2)
    h = res("mid.res.", h, ch, ch, s)
    for l in range(L-1, -1, -1):
        sk, sc = skips[l]; h = h + sk; ch += sc
        for r in range(R): h = res(f"up.{l}.res.{r}.", h, ch, C[l], s); ch = C[l]
        if l > 0:
            up = []
            for c in range(ch):
                for i in range(2*s):
                    for j in range(2*s): up.append(h[(c*s + i//2)*s + j//2])
            h, s = up, 2*s
    a = silu(gn(h, ch, S*S, G, w("out_norm.weight"), w("out_norm.bias")))
    return conv(a, ch, S, S, w("conv_out.weight"), w("conv_out.bias"), Cimg, 3, 1)[0]
def mlp(T, cfg, x, t):
    D, H, NL, E = cfg; w = lambda n: T[n][0]
    h = list(x) + sinus(t, E); width = D+E
    for i in range(NL): h = silu(linear(h, w(f"fc.{i}.weight"), w(f"fc.{i}.bias"), width, H)); width = H
    return linear(h, w("fc_out.weight"), w("fc_out.bias"), H, D)
f32 = lambda v: struct.unpack('f', struct.pack('f', v))[0]
import os
G = os.path.dirname(os.path.abspath(__file__)) + '/'
worst = 0.0
k, cfg, T, meta = read_dsw(open(G+'unet_tiny.dsw', 'rb').read())
assert meta == dict(schedule="linear", T=1000, prediction="eps", class_names=[]), meta
# the same weights in format 2 with every field set (written by tests/test_weights.c)
k2, cfg2, T2, meta2 = read_dsw(open(G+'unet_tiny_v2.dsw', 'rb').read())
assert (k2, cfg2, T2) == (k, cfg, T) and meta2["schedule"] == "cosine" and meta2["T"] == 500, meta2
assert meta2["class_names"][:2] == ["T-shirt/top", "Trouser"] and meta2["class_names"][5] == "Sandale \u00e0 l\u2019\u00e9t\u00e9", meta2
print("unet_tiny_v2: format 2 header and class names read as docs/model.md says")
xs = [f32(((i*37) % 101)/50 - 1) for i in range(3*64)]; ts = [0.0, 37.5, 999.0]; cl = [3, 10, 0]
out = []
for b in range(3): out += unet(T, cfg, xs[b*64:(b+1)*64], ts[b], cl[b])
want = [float(v) for v in open(G+'unet_tiny_eps.txt').read().split()]
assert len(out) == len(want), (len(out), len(want))
d = max(abs(a-b) for a, b in zip(out, want))/max(abs(v) for v in want); worst = max(worst, d)
print(f"unet_tiny: max |docs - engine| / max |engine| = {d:.3g}")
k, cfg, T, meta = read_dsw(open(G+'mlp_tiny.dsw', 'rb').read())
px = [f32(((i*53) % 97)/24 - 2) for i in range(10)]; pt = [0, 1, 250, 500.5, 1000]
out = []
for b in range(5): out += mlp(T, cfg, px[2*b:2*b+2], pt[b])
want = [float(v) for v in open(G+'mlp_tiny_eps.txt').read().split()]
assert len(out) == len(want), (len(out), len(want))
d = max(abs(a-b) for a, b in zip(out, want))/max(abs(v) for v in want); worst = max(worst, d)
print(f"mlp_tiny: max |docs - engine| / max |engine| = {d:.3g}")
sys.exit(0 if worst <= 1e-5 and len(out) == len(want) else 1)
