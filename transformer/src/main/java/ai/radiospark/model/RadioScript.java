package ai.radiospark.model;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The RADIO forward pass in TorchScript, the text of the module {@link RadioModel} loads. Which
 * tensor sits where in the module's weight list comes from {@link HeadTensor} and {@link BlockTensor}
 * alone: the methods read their weights by name from locals that {@link #source()} generates
 * ({@code norm1_w = w[o + 0]}, ...), and {@code add_weight} converts by the tensors' roles.
 *
 * <p>{@code add_weight} takes the weights one at a time, in list order, so that the builder can free
 * each one's host copy before making the next ({@link ScriptWeights}). It clones every tensor it
 * keeps (DJL's tensors over Java direct buffers die with their NDArray), converts the block
 * matrices and biases to the compute dtype {@code cdt}, and reorders the matrices for oneDNN when
 * asked. A reordered matrix is not cloned first: the reorder writes a new tensor of its own. The
 * clone before it freed a matrix-sized block per matrix, of four sizes, and glibc's heap kept the
 * holes (+860 MB resident for C-RADIOv4-H in float32, none with {@code MALLOC_MMAP_THRESHOLD_} set). The LayerNorms, layer scales and residual stream stay
 * float32 (scalar type 6); outputs are float32.
 *
 * <p>{@code forward_uint8} takes the pixels as uint8 (0..255) and rescales them inside the graph
 * exactly as transformers' rescale and {@code ImagePreprocessor} do: the float64 product
 * {@code v * (1 / 255)} rounded to float32 (scalar type 7 is float64). A float32 product
 * {@code v * float(1 / 255)} differs from it in 126 of the 256 values (by one ulp), and changes the
 * outputs' bits ({@code Uint8PixelsTest}).
 *
 * <p>{@code forward_grids} (and {@code forward_grids_uint8}) runs images of several patch grids with
 * one token count in one pass: each grid's pixels are embedded with its own position embedding
 * ({@code embed}), the embeddings concatenated along the batch, then the blocks run once on the
 * (B, T, D) result, which does not depend on the grid ({@code MixedGridForwardTest}).
 */
final class RadioScript {
    /** The module's class name in the {@code __torch__} namespace. */
    static final String CLASS = "Radio";

    /** Tensors before the first block in the weight list. */
    static final int HEAD = HeadTensor.values().length;

    /** Tensors per block in the weight list. */
    static final int PER_BLOCK = BlockTensor.values().length;

    private static final String TEMPLATE = """
      class Radio(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        onednn : bool
        w : List[Tensor]
        def add_weight(self, t: Tensor, cdt: int, onednn: bool) -> int:
          w = self.w
          i = len(w)
          j = (i - $HEAD) % $PER_BLOCK
          if i >= $HEAD and j in $COMPUTE_DTYPE:
            t = t.to(cdt)
          if onednn and i >= $HEAD and j in $MATRICES:
            t = ops.mkldnn._reorder_linear_weight(t, None)
          else:
            t = t.contiguous().clone()
          w.append(t)
          self.w = w
          self.onednn = onednn
          return len(w)
        def uses_onednn(self) -> bool:
          return self.onednn
        def lin(self, x: Tensor, w: Tensor, b: Tensor, act: str) -> Tensor:
          if self.onednn:
            return ops.mkldnn._linear_pointwise(x, w, b, act, annotate(List[Optional[number]], []), "none")
          y = torch.linear(x, w, b)
          if act == "gelu":
            y = torch.gelu(y)
          return y
        def block(self, x: Tensor, o: int, heads: int, eps: float, swiglu: bool, cdt: int) -> Tensor:
          w = self.w
          $BLOCK_TENSORS
          B = x.size(0)
          T = x.size(1)
          D = x.size(2)
          y = torch.layer_norm(x, [D], norm1_w, norm1_b, eps).to(cdt)
          qkv = self.lin(y, qkv_w, qkv_b, "none").view([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          a = torch.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
          a = self.lin(a.transpose(1, 2).reshape([B, T, D]), proj_w, proj_b, "none")
          x = torch.addcmul(x, a.to(6), ls1)
          y = torch.layer_norm(x, [D], norm2_w, norm2_b, eps).to(cdt)
          if swiglu:
            y = self.lin(y, mlp_in_w, mlp_in_b, "none")
            hh = y.chunk(2, -1)
            y = torch.silu(hh[0]) * hh[1]
          else:
            y = self.lin(y, mlp_in_w, mlp_in_b, "gelu")
          y = self.lin(y, mlp_out_w, mlp_out_b, "none")
          return torch.addcmul(x, y.to(6), ls2)
        def embed(self, px: Tensor, pos: Tensor, p: int) -> Tensor:
          w = self.w
          $HEAD_TENSORS
          B = px.size(0)
          C = px.size(1)
          rows = px.size(2) // p
          cols = px.size(3) // p
          x = (px - norm_mean) / norm_std
          x = x.reshape([B, C, rows, p, cols, p]).permute([0, 2, 4, 1, 3, 5]).reshape([B, rows * cols, C * p * p])
          x = torch.linear(x, patch) + pos
          cls = cls_token.unsqueeze(0).expand([B, -1, -1])
          return torch.cat([cls, x], 1)
        def forward(self, px: Tensor, pos: Tensor, p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          t = self.embed(px, pos, p)
          return self.blocks(t, heads, eps, swiglu, cdt, layers, all)
        def forward_grids(self, pxs: List[Tensor], poss: List[Tensor], p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          ts = annotate(List[Tensor], [])
          for i in range(len(pxs)):
            ts.append(self.embed(pxs[i], poss[i], p))
          return self.blocks(torch.cat(ts, 0), heads, eps, swiglu, cdt, layers, all)
        def forward_grids_uint8(self, pxs: List[Tensor], poss: List[Tensor], p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          xs = annotate(List[Tensor], [])
          for px in pxs:
            xs.append(torch.mul(px.to(7), 1.0 / 255.0).to(6))
          return self.forward_grids(xs, poss, p, heads, eps, swiglu, cdt, layers, all)
        def blocks(self, t: Tensor, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          out = annotate(List[Tensor], [])
          if all:
            out.append(t)
          for i in range(layers):
            t = self.block(t, $HEAD + $PER_BLOCK * i, heads, eps, swiglu, cdt)
            if all:
              out.append(t)
          if not all:
            out.append(t)
          return out
        def forward_uint8(self, px: Tensor, pos: Tensor, p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          x = torch.mul(px.to(7), 1.0 / 255.0).to(6)
          return self.forward(x, pos, p, heads, eps, swiglu, cdt, layers, all)
      """;

    private static final String SOURCE = generate();

    private RadioScript() {}

    /** The module's source, {@code code/__torch__.py} of its {@link TorchScriptArchive}. */
    static String source() {
        return SOURCE;
    }

    /** The length of the weight list for {@code layers} blocks, which the last {@code add_weight} returns. */
    static long weightCount(int layers) {
        return HEAD + (long) PER_BLOCK * layers;
    }

    private static String generate() {
        StringBuilder out = new StringBuilder();
        for (String line : TEMPLATE.split("\n", -1)) {
            String indent =
                    line.substring(0, line.length() - line.stripLeading().length());
            switch (line.strip()) {
                case "$BLOCK_TENSORS" -> {
                    for (BlockTensor t : BlockTensor.values()) {
                        out.append(indent)
                                .append(t.scriptName())
                                .append(" = w[o + ")
                                .append(t.ordinal())
                                .append("]\n");
                    }
                }
                case "$HEAD_TENSORS" -> {
                    for (HeadTensor t : HeadTensor.values()) {
                        out.append(indent)
                                .append(t.scriptName())
                                .append(" = w[")
                                .append(t.ordinal())
                                .append("]\n");
                    }
                }
                default -> out.append(line).append('\n');
            }
        }
        out.setLength(out.length() - 1); // the split's last, empty element
        return out.toString()
                .replace("$HEAD", Integer.toString(HEAD))
                .replace("$PER_BLOCK", Integer.toString(PER_BLOCK))
                .replace("$COMPUTE_DTYPE", indexes(List.of(BlockTensor.Role.BIAS, BlockTensor.Role.MATRIX)))
                .replace("$MATRICES", indexes(List.of(BlockTensor.Role.MATRIX)));
    }

    /** The block positions of the tensors in {@code roles}, as a TorchScript list literal. */
    private static String indexes(List<BlockTensor.Role> roles) {
        return Arrays.stream(BlockTensor.values())
                .filter(t -> roles.contains(t.role()))
                .map(t -> Integer.toString(t.ordinal()))
                .collect(Collectors.joining(", ", "[", "]"));
    }
}
