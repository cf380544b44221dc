#!/usr/bin/env python3
"""PyTorch side of `diffuscope bench model`: the same table for the reference networks.

    python3 training/bench_reference.py [--model assets/models/digits-eps.safetensors] [--threads 2]
    target/release/diffuscope bench model --json > ours.json && python3 training/bench_reference.py --ours ours.json
    target/release/diffuscope bench train --json | python3 training/bench_reference.py --ours -   # training steps side by side
    python3 training/bench_reference.py --device cuda --ddpm --ours gpu.json   # on an NVIDIA GPU
    python3 training/bench_reference.py --no-runtimes --train-step 64   # beside `diffuscope bench train`

Forward pass of DigitUNet at batch 1, 16 and 64 (median of repeated runs after warm-up, inputs made
the same way as the Rust bench), and DigitClassifier at batch 64 if the shipped classifier exists.
GFLOP/s uses the same analytic count as the Rust bench (2 × multiply-adds of convolutions, linear
layers and attention products; checked against torch.utils.flop_counter below).

With --ours (a file, or - for standard input, holding the JSON that `diffuscope bench model --json`
prints) the weights are those of the model the Rust bench measured, and a ratio column says how
many times slower candle is (candle ms / PyTorch ms). On the CPU a second table puts ours beside
PyTorch, ONNX Runtime (MLAS) and OpenVINO (f32 and bf16) on the same weights, exported with
torch.onnx, each with the same number of threads, in a process of its own, and its ratio (ours /
it); --no-runtimes leaves them out. Each runtime is used where it is installed (pip install
onnxruntime openvino). Without a model, random weights of the default sizes are used (the time
does not depend on the values).
With --device cuda every timed call ends with torch.cuda.synchronize(); --ddpm adds the wall time
of a DDPM-1000 run of 16 unguided digits (the network plus the posterior update, all on the device,
the same loop as `diffuscope bench sample`'s first row) and, on CUDA, the forward pass at batch 16
replayed as a CUDA graph.
A maintainer's tool: the program never needs Python.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time


def figures_on_stdin():
    """The JSON of `--ours -`, read before anything heavy is imported: in `diffuscope bench model
    --json | bench_reference.py --ours -` both programs start together, and importing PyTorch (6 s,
    3 s of it on a CPU) while ours is being timed made ours 1.7–3.3× slower at batch 1 and up to
    2.5× at batch 16 on a 2-core machine. Reading standard input waits, idle, until ours is done."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if (arg == "--ours" and args[i + 1 : i + 2] == ["-"]) or arg == "--ours=-":
            return sys.stdin.read()
    return None


# Only when run as a script: a module importing this one keeps its standard input.
OURS_ON_STDIN = figures_on_stdin() if __name__ == "__main__" else None

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from dit import DigitDiT  # noqa: E402
from unet import NULL_CLASS, DigitClassifier, DigitUNet  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BATCHES = [1, 16, 64]
ROW_BUDGET_SECS = 4.0


def dit_macs(config):
    """Multiply-adds of one forward pass of a DigitDiT; the same count as DiTConfig::forward_macs."""
    n = (config["image_size"] // config["patch"]) ** 2
    d, hidden = config["dim"], config["mlp_ratio"] * config["dim"]
    patch = config["in_channels"] * config["patch"] ** 2
    block = n * (4 * d * d + 2 * d * hidden) + 2 * n * n * d + 6 * d * d
    return n * patch * d + config["depth"] * block + 2 * d * d + n * d * patch


def unet_macs(config, h=28, w=28):
    """Multiply-adds of one forward pass; the same count as UNetConfig::forward_macs in Rust."""
    c0, c1, c2 = config["channels"]
    e, s = config["emb_dim"], config["sinusoid_dim"]

    def conv(hw, cin, cout, k):
        return hw[0] * hw[1] * cout * cin * k * k

    def res(hw, cin, cout):
        return conv(hw, cin, cout, 3) + e * cout + conv(hw, cout, cout, 3) + (
            0 if cin == cout else conv(hw, cin, cout, 1)
        )

    s0 = (h, w)
    s1 = ((h + 1) // 2, (w + 1) // 2)
    s2 = ((s1[0] + 1) // 2, (s1[1] + 1) // 2)
    n = s2[0] * s2[1]
    attention = n * c2 * 3 * c2 + 2 * n * n * c2 + n * c2 * c2
    down = res(s0, c0, c0) + conv(s1, c0, c0, 3) + res(s1, c0, c1) + conv(s2, c1, c1, 3) + res(s2, c1, c2)
    mid = 2 * res(s2, c2, c2) + attention
    up = (
        res(s2, c2 + c2, c2)
        + conv((2 * s2[0], 2 * s2[1]), c2, c2, 3)
        + res(s1, c2 + c1, c1)
        + conv((2 * s1[0], 2 * s1[1]), c1, c1, 3)
        + res(s0, c1 + c0, c0)
    )
    return s * e + e * e + conv(s0, 1, c0, 3) + down + mid + up + conv(s0, c0, 1, 3)


CLASSIFIER_MACS = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 7 * 7 * 64 * 64 * 9 + 3136 * 128 + 128 * 10


def check_flop_count(model, config):
    from torch.utils.flop_counter import FlopCounterMode

    x, t, y = (v.cpu() for v in unet_inputs(1))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, t, y)
    assert counter.get_total_flops() == 2 * unet_macs(config), "FLOP count disagrees with torch"
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        DigitClassifier()(torch.zeros(1, 1, 28, 28))
    assert counter.get_total_flops() == 2 * CLASSIFIER_MACS, "classifier FLOP count disagrees"


DEVICE = torch.device("cpu")


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


class DiffusersUNet(torch.nn.Module):
    """A diffusers UNet2DModel of a pipeline folder called as the program calls it: timesteps
    counted from 1 (diffusers' t + 1), class ids ignored by a model without classes."""

    def __init__(self, folder):
        super().__init__()
        from diffusers import UNet2DModel

        self.unet = UNet2DModel.from_pretrained(str(pathlib.Path(folder) / "unet")).eval()
        self.config = {"diffusers": str(folder)}
        self.shape = (self.unet.config.in_channels, *self.sample_size())

    def sample_size(self):
        size = self.unet.config.sample_size
        return (size, size) if isinstance(size, int) else tuple(size)

    def forward(self, x, t, y):
        labels = y if self.unet.class_embedding is not None else None
        return self.unet(x, t - 1, class_labels=labels).sample


def unet_inputs(batch, shape=(1, 28, 28)):
    """The same construction as the Rust bench: noise, t spread over 1..1000, classes 0..10 cycling."""
    x = torch.randn(batch, *shape)
    t = torch.tensor([1 + (i * 997) % 1000 for i in range(batch)], dtype=torch.float32)
    y = torch.tensor([i % (NULL_CLASS + 1) for i in range(batch)], dtype=torch.int64)
    return x.to(DEVICE), t.to(DEVICE), y.to(DEVICE)


def load_unet(path):
    if path is None:
        return DigitUNet().eval()
    if (pathlib.Path(path) / "model_index.json").exists():
        return DiffusersUNet(path)
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    network = DigitDiT if metadata.get("diffuscope.kind") == "digit-dit" else DigitUNet
    model = network(json.loads(metadata.get("architecture", "{}"))).eval()
    state = load_file(str(path))
    model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()})
    return model


def measure(f):
    def timed():
        start = time.perf_counter()
        f()
        synchronize()
        return time.perf_counter() - start

    with torch.inference_mode():
        f()
        synchronize()
        one = max(timed(), 1e-6)
        runs = int(min(200, max(5, ROW_BUDGET_SECS / one)))
        times = [timed() for _ in range(runs)]
    return statistics.median(times), runs


def ddpm_1000(model, digits=16, steps=1000):
    """Wall time of DDPM with every one of the 1000 timesteps (linear β 1e-4..0.02, fixed-small
    variance, x̂0 clipped to [−1, 1]), `digits` unguided images, everything on DEVICE."""
    betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
    alphas = 1 - betas
    bars = torch.cumprod(alphas, 0)
    bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), bars[:-1]])
    gen = torch.Generator(device=DEVICE).manual_seed(1)
    null = torch.full((digits,), NULL_CLASS, dtype=torch.int64, device=DEVICE)
    with torch.inference_mode():
        synchronize()
        start = time.perf_counter()
        x = torch.randn(digits, 1, 28, 28, generator=gen, device=DEVICE)
        for t in reversed(range(steps)):
            a, b, b_prev = alphas[t].item(), bars[t].item(), bars_prev[t].item()
            tt = torch.full((digits,), float(t), device=DEVICE)
            eps = model(x, tt, null)
            x0 = ((x - (1 - b) ** 0.5 * eps) / b**0.5).clamp(-1, 1)
            mean = (b_prev**0.5 * (1 - a) / (1 - b)) * x0 + (a**0.5 * (1 - b_prev) / (1 - b)) * x
            if t > 0:
                var = (1 - b_prev) / (1 - b) * (1 - a)
                mean = mean + var**0.5 * torch.randn(x.shape, generator=gen, device=DEVICE)
            x = mean
        x.cpu()
        return time.perf_counter() - start


def cuda_graph_forward(model, batch=16):
    """Median time of the forward pass at `batch` replayed as one CUDA graph."""
    x, t, y = unet_inputs(batch)
    with torch.inference_mode():
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(x, t, y)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x, t, y)
    return measure(graph.replay)


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def export_onnx(model, folder):
    """The UNet as an ONNX file (batch dimension dynamic), exported by torch.onnx."""
    path = pathlib.Path(folder) / "unet.onnx"
    x, t, y = (v.cpu() for v in unet_inputs(2))
    torch.onnx.export(
        model.cpu(),
        (x, t, y),
        str(path),
        input_names=["x", "t", "y"],
        output_names=["out"],
        dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "y": {0: "batch"}, "out": {0: "batch"}},
        opset_version=18,
        dynamo=False,  # the TorchScript exporter: no onnxscript needed
    )
    return path


def onnx_runtime_rows(path, threads):
    """{batch: (median s, runs)} for ONNX Runtime (MLAS) on the CPU, `threads` threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rows = {}
    for batch in BATCHES:
        x, t, y = (v.cpu().numpy() for v in unet_inputs(batch))
        feed = {"x": x, "t": t, "y": y}
        rows[batch] = measure(lambda: session.run(None, feed))
    return f"ONNX Runtime {ort.__version__}", rows


def openvino_rows(path, threads, precision):
    """{batch: (median s, runs)} for OpenVINO on the CPU at `precision` (f32 or bf16)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision}
    compiled = core.compile_model(model, "CPU", config)
    rows = {}
    for batch in BATCHES:
        x, t, y = (v.cpu().numpy() for v in unet_inputs(batch))
        request = compiled.create_infer_request()
        rows[batch] = measure(lambda: request.infer({"x": x, "t": t, "y": y}))
    return f"OpenVINO {ov.__version__.split('-')[0]} {precision}", rows


def in_fresh_process(function, *args):
    """function(*args) in a new Python process, so that each runtime is timed alone, not beside
    PyTorch's thread pool, which has just run in this one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def other_runtimes(model, threads):
    """The UNet's forward pass in ONNX Runtime and OpenVINO, where installed, each in a process of
    its own: [(name, rows)]."""
    import tempfile

    results = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = export_onnx(model, folder)
        except Exception as error:  # noqa: BLE001 — a maintainer's tool: say why and go on
            print(f"(no ONNX export: {error})")
            return results
        for name, run in [
            ("ONNX Runtime", lambda: in_fresh_process(onnx_runtime_rows, path, threads)),
            ("OpenVINO f32", lambda: in_fresh_process(openvino_rows, path, threads, "f32")),
            ("OpenVINO bf16", lambda: in_fresh_process(openvino_rows, path, threads, "bf16")),
        ]:
            try:
                results.append(run())
            except ImportError:
                print(f"({name}: not installed)")
            except Exception as error:  # noqa: BLE001
                print(f"({name}: {error})")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .safetensors diffusion checkpoint (default: from --ours, else random)")
    parser.add_argument("--ours", help="JSON from `diffuscope bench model --json` (a file, or - for stdin)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--ddpm", action="store_true", help="also time DDPM-1000 on 16 digits")
    parser.add_argument(
        "--no-runtimes", action="store_true", help="leave out ONNX Runtime and OpenVINO (CPU only)"
    )
    parser.add_argument(
        "--train-step",
        type=int,
        metavar="BATCH",
        help="also time one training step (forward, backward, AdamW) at this batch, as `diffuscope bench train --batch BATCH` does",
    )
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ours = None
    if args.ours:
        text = OURS_ON_STDIN if args.ours == "-" else pathlib.Path(args.ours).read_text()
        ours = json.loads(text.strip().splitlines()[-1])
    if ours and ours.get("bench") == "train":
        training_side_by_side(ours)
        return
    model_path = args.model or (ours or {}).get("model")
    model = load_unet(model_path)
    config = model.config
    diffusers_model = isinstance(model, DiffusersUNet)
    transformer = isinstance(model, DigitDiT)
    shape = model.shape if diffusers_model else (1, 28, 28)
    if not diffusers_model and not transformer:
        check_flop_count(model, config)
    model = model.to(DEVICE)
    flops = 0 if diffusers_model else 2 * (dit_macs(config) if transformer else unet_macs(config))
    params = sum(p.numel() for p in model.parameters())
    if transformer:
        what = f"DigitDiT dim {config['dim']} × {config['depth']} blocks, {config['positions']} positions"
    else:
        what = "diffusers UNet2DModel" if diffusers_model else f"DigitUNet {config['channels']}"
    print(
        f"PyTorch {torch.__version__} reference — {what} "
        f"({model_path or 'random weights'}), {params:,} parameters, {flops / 1e9:.3f} GFLOP per image "
        f"of {shape[0]}×{shape[1]}×{shape[2]}" + (" (FLOPs not counted)" if diffusers_model else "")
    )
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else cpu_name()
    print(f"{where}, torch.set_num_threads({args.threads}); median of repeated runs after warm-up")
    if ours:
        print(f"candle figures from the Rust bench: {ours.get('threads')} threads, device {ours.get('device')}")
    print()
    theirs = {(r["network"], r["batch"]): r for r in (ours or {}).get("rows", [])}
    header = "network     batch   median ms   ms/image    images/s   GFLOP/s   runs"
    print(header + ("   candle ms   candle/torch" if ours else ""))

    rows = []
    for batch in BATCHES:
        x, t, y = unet_inputs(batch, shape)
        rows.append(("denoiser", batch, flops * batch, *measure(lambda: model(x, t, y))))
    classifier_path = ROOT / "assets/models/digits-classifier.safetensors"
    if classifier_path.exists():
        classifier = DigitClassifier().eval()
        classifier.load_state_dict(load_file(str(classifier_path)))
        classifier = classifier.to(DEVICE)
        x = (torch.rand(64, 1, 28, 28) * 2 - 1).to(DEVICE)
        rows.append(("classifier", 64, 2 * CLASSIFIER_MACS * 64, *measure(lambda: classifier(x))))

    for network, batch, row_flops, median, runs in rows:
        ms = median * 1e3
        line = (
            f"{network:<10} {batch:>6} {ms:>11.3f} {ms / batch:>10.3f} {batch / median:>11.1f} "
            f"{row_flops / median / 1e9:>9.2f} {runs:>6}"
        )
        mine = theirs.get((network, batch))
        if mine:
            line += f" {mine['median_ms']:>11.3f} {mine['median_ms'] / ms:>14.2f}×"
        print(line)
    if DEVICE.type == "cpu" and not args.no_runtimes and not diffusers_model:
        runtimes_table(model, args.threads, rows, theirs)
    if DEVICE.type == "cuda":
        median, runs = cuda_graph_forward(model)
        print(f"unet, batch 16, replayed as a CUDA graph: {median * 1e3:.3f} ms (median of {runs})")
    if args.ddpm:
        print(f"DDPM-1000, 16 unguided digits: {ddpm_1000(model):.2f} s wall")
    if args.train_step and not diffusers_model:
        median, runs = training_step(model, args.train_step)
        print(
            f"training step, batch {args.train_step} (forward, backward, AdamW): "
            f"{median * 1e3:.1f} ms (median of {runs}); ours: diffuscope bench train --batch {args.train_step}"
        )


def training_side_by_side(ours):
    """`diffuscope bench train --json | bench_reference.py --ours -`: PyTorch's training step at
    ours's batch beside ours's (the median of its steps after the first, which builds the network)."""
    batch = ours["batch"]
    mine = statistics.median(ours["step_ms"][1:] or ours["step_ms"])
    model = DigitUNet().to(DEVICE)
    median, runs = training_step(model, batch)
    theirs = median * 1e3
    print(f"training step of DigitUNet {model.config['channels']}, batch {batch} (forward, backward, AdamW), "
          f"{torch.get_num_threads()} threads PyTorch, {ours.get('threads')} threads ours, {cpu_name()}:")
    print(f"  ours (diffuscope bench train) {mine:8.1f} ms   median of {max(len(ours['step_ms']) - 1, 1)} steps")
    print(f"  PyTorch {torch.__version__:<21} {theirs:8.1f} ms   median of {runs} steps")
    print(f"  ours / PyTorch {mine / theirs:.2f}×")


def training_step(model, batch, runs=6):
    """Median wall time of one training step of `model` at `batch`, as train_diffusion.py takes
    it: noisy digits at random t, the ε target, MSE, backward, AdamW (lr 2e-3), after two warm-up
    steps. A copy is trained, so the timed model's weights stay as they were."""
    import copy

    student = copy.deepcopy(model).train()
    optimiser = torch.optim.AdamW(student.parameters(), lr=2e-3, weight_decay=0.0)
    x, t, y = unet_inputs(batch)
    target = torch.randn_like(x)

    def step():
        loss = torch.nn.functional.mse_loss(student(x, t, y), target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        synchronize()

    for _ in range(2):
        step()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return statistics.median(times), runs


def runtimes_table(model, threads, torch_rows, ours):
    """The UNet's forward pass side by side: ours (from --ours), PyTorch, ONNX Runtime, OpenVINO;
    and ours / each runtime (below 1: ours is faster)."""
    runtimes = [("PyTorch", {b: (m, r) for n, b, _, m, r in torch_rows if n == "denoiser"})]
    runtimes += other_runtimes(model, threads)
    model.to(DEVICE)
    network = "DiT" if isinstance(model, DigitDiT) else "UNet"
    print(f"\n{network} forward pass, median ms, {threads} threads, {cpu_name()}:")
    names = ["ours"] + [name for name, _ in runtimes]
    print("batch " + "".join(f"{name:>24}" for name in names))
    for batch in BATCHES:
        mine = ours.get(("denoiser", batch))
        cells = [f"{mine['median_ms']:>24.3f}" if mine else f"{'—':>24}"]
        for _, rows in runtimes:
            ms = rows[batch][0] * 1e3
            ratio = f" ({mine['median_ms'] / ms:.2f}×)" if mine else ""
            cells.append(f"{ms:>14.3f}{ratio:>10}")
        print(f"{batch:>5} " + "".join(cells))
    if ours:
        print("(×: ours / that runtime; below 1.00 ours is faster)")


if __name__ == "__main__":
    main()
