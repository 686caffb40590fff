"""PyTorch eager peer for `radio bench`: a plain ViT of the same shape as the benchmarked RADIO model.

Protocol (so the Java side can interleave rounds with its own and both see the same machine load):
  argv: d layers heads mlp tokens batch threads
  prints one JSON line {"ready": ...} after building the model and a warm-up forward,
  then for every line "N" read from stdin runs N timed forwards and prints
  {"ms": [t1, ..., tN], "cpu_s": [process CPU seconds of each]};
  an empty line or EOF ends it.
Random weights, float32, torch.inference_mode(); attention written out (softmax(q k^T / sqrt(hd)) v)
as timm's ViT does without fused attention, so it is the eager baseline the issue asks for.
"""
import json
import math
import sys
import time

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ls1 = nn.Parameter(torch.ones(d))
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = nn.Linear(d, mlp)
        self.fc2 = nn.Linear(mlp, d)
        self.ls2 = nn.Parameter(torch.ones(d))

    def forward(self, x):
        b, n, d = x.shape
        hd = d // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)).softmax(-1)
        a = (attn @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(a) * self.ls1
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x)))) * self.ls2


class ViT(nn.Module):
    def __init__(self, d, layers, heads, mlp, patch=16, prefix=10):
        super().__init__()
        self.patch = patch
        self.embed = nn.Linear(3 * patch * patch, d, bias=False)
        self.cls = nn.Parameter(torch.randn(1, prefix, d))
        self.blocks = nn.ModuleList(Block(d, heads, mlp) for _ in range(layers))

    def forward(self, px):
        b, c, h, w = px.shape
        p = self.patch
        x = px.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c * p * p)
        x = torch.cat([self.cls.expand(b, -1, -1), self.embed(x)], 1)
        for blk in self.blocks:
            x = blk(x)
        return x


def main():
    d, layers, heads, mlp, tokens, batch, threads = (int(a) for a in sys.argv[1:8])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    prefix = 10
    side = int(round(math.sqrt(tokens - prefix))) * 16
    model = ViT(d, layers, heads, mlp, prefix=prefix).eval()
    px = torch.rand(batch, 3, side, side)
    with torch.inference_mode():
        model(px)
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "blas": "see torch.__config__", "tokens": tokens, "batch": batch}), flush=True)
        for line in sys.stdin:
            line = line.strip()
            if not line:
                break
            ms, cpu = [], []
            for _ in range(int(line)):
                t, c = time.perf_counter(), time.process_time()
                model(px)
                ms.append((time.perf_counter() - t) * 1000)
                cpu.append(time.process_time() - c)
            print(json.dumps({"ms": ms, "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    main()
