#!/usr/bin/env python3
"""PyTorch's side of the second table of `diffuscope bench kernels`: the same layers of the digit
network at the training batch (64), forward and backward (the output summed, then backward), median
milliseconds of 10 runs after one warm-up, on 2 threads (the figures in MODELS.md).

    python3 training/bench_train_layers.py
"""
import torch, time, torch.nn.functional as F
torch.set_num_threads(2)
B=64
def t(f, runs=10):
    f()
    ts=[]
    for _ in range(runs):
        s=time.perf_counter(); f(); ts.append(time.perf_counter()-s)
    ts.sort(); return ts[len(ts)//2]*1e3
for name,cin,side,cout,k,stride,up in [("conv 16→16 28",16,28,16,3,1,False),("conv 48→16 28",48,28,16,3,1,False),("up conv 32→32 14→28",32,14,32,3,1,True),("s2 16→16 28",16,28,16,3,2,False),("1x1 48→16 28",48,28,16,1,1,False),("mid 64→64 7",64,7,64,3,1,False)]:
    x=torch.randn(B,cin,side,side,requires_grad=True); w=torch.randn(cout,cin,k,k,requires_grad=True); b=torch.randn(cout,requires_grad=True)
    def f():
        xx=F.interpolate(x,scale_factor=2,mode='nearest') if up else x
        F.conv2d(xx,w,b,stride=stride,padding=k//2).sum().backward()
    print(f"{name:30s} {t(f):8.3f}")
for c in (16,48):
    x=torch.randn(B,c,28,28,requires_grad=True); g=torch.randn(c,requires_grad=True); be=torch.randn(c,requires_grad=True)
    def f(): F.silu(F.group_norm(x,8,g,be)).sum().backward()
    print(f"GN+SiLU {c}x28 {t(f):8.3f}")
