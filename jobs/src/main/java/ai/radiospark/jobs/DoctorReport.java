package ai.radiospark.jobs;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The text form of {@code radio doctor}'s JSON report ({@link DoctorChecks}): one section per
 * check, one line per device and dtype, ending with {@code result: OK} or {@code result: FAILED}
 * and the failed checks. README.md shows one; DoctorCommandTest checks that it matches.
 */
final class DoctorReport {
    private DoctorReport() {}

    /** The report as text: one section per check, one line per device and dtype. */
    static String text(JsonNode r) {
        StringBuilder s = new StringBuilder();
        JsonNode v = r.path("versions");
        JsonNode t = v.path("libtorch");
        s.append("radio doctor\n");
        s.append("versions\n");
        s.append(String.format("  radio-spark  %s%n", v.path("radio_spark").asText()));
        s.append(String.format(
                "  java         %s (%s), %s%n",
                v.path("java").asText(),
                v.path("java_vendor").asText(),
                v.path("os").asText()));
        s.append(String.format("  djl          %s%n", v.path("djl").asText()));
        s.append(
                t.path("version").isNull()
                        ? String.format(
                                "  libtorch     not loaded: %s%n",
                                t.path("error").asText())
                        : String.format(
                                "  libtorch     %s %s, from %s%n",
                                t.path("version").asText(),
                                t.path("flavor").asText(),
                                t.path("path").asText()));
        JsonNode d = r.path("devices");
        if (!d.isMissingNode()) {
            s.append("devices\n");
            StringBuilder gpus = new StringBuilder();
            for (JsonNode g : d.path("libtorch_gpus")) {
                gpus.append(gpus.length() == 0 ? "" : ", ")
                        .append(g.path("device").asText())
                        .append(" (compute capability ")
                        .append(g.path("compute_capability").asText())
                        .append(')');
            }
            s.append(String.format("  libtorch sees  %s%n", gpus.length() == 0 ? "no GPU" : gpus));
            if (d.has("note")) {
                s.append(String.format("                 %s%n", d.path("note").asText()));
            }
            s.append(String.format(
                    "  spark assigns  %s%n",
                    d.path("spark_gpus").isArray()
                            ? "GPUs " + d.path("spark_gpus") + " ("
                                    + d.path("discovery_script").asText() + ")"
                            : d.has("problem")
                                    ? "not known (" + d.path("discovery_script").asText() + ")"
                                    : d.path("discovery_script").asText()));
            if (d.has("problem")) {
                s.append(
                        String.format("  DISAGREE       %s%n", d.path("problem").asText()));
            }
            s.append(String.format("  checked on     %s%n", join(d.path("checked"))));
        }
        JsonNode g = r.path("golden");
        if (!g.isMissingNode()) {
            s.append(String.format(
                    "parity (golden %s %s; float32: %s; bfloat16, float16: %s)%n",
                    g.path("model").asText(),
                    g.path("case").asText(),
                    g.path("float32_tolerance").asText(),
                    g.path("low_precision_tolerance").asText()));
            for (JsonNode p : r.path("parity")) {
                s.append(line(p)
                        + (p.has("max_abs_error")
                                ? String.format(
                                        " max abs error %.3g",
                                        p.path("max_abs_error").asDouble())
                                : "")
                        + (p.has("min_cosine")
                                ? String.format(
                                        ", cosine %.6f", p.path("min_cosine").asDouble())
                                : "")
                        + reason(p)
                        + "\n");
            }
            s.append("fused attention (scaled_dot_product_attention against plain attention)\n");
            for (JsonNode a : r.path("attention")) {
                s.append(line(a)
                        + (a.has("max_abs_error_vs_plain")
                                ? String.format(
                                        " max abs error %.3g (tolerance %s)",
                                        a.path("max_abs_error_vs_plain").asDouble(),
                                        a.path("tolerance").asText())
                                : "")
                        + reason(a)
                        + "\n");
            }
        }
        if (r.has("capabilities")) {
            s.append("capabilities (what runs on each device)\n");
            for (JsonNode c : r.path("capabilities")) {
                JsonNode f = c.path("fused_attention");
                s.append(String.format(
                        "  %-7s bfloat16 %s; float16 %s; fused attention %s%n",
                        c.path("device").asText(),
                        runs(c.path("bfloat16")),
                        runs(c.path("float16")),
                        f.path("runs").asBoolean() ? "yes (" + join(f.path("dtypes")) + ")" : runs(f)));
            }
        }
        JsonNode tp = r.path("throughput");
        if (tp.has("status")) {
            s.append("throughput: ").append(tp.path("status").asText()).append('\n');
        } else if (!tp.isMissingNode()) {
            s.append(String.format(
                    "throughput (%s, %s, %s s each)%n",
                    tp.path("model").asText(),
                    tp.path("size").asText(),
                    tp.path("seconds_each").asText()));
            for (JsonNode p : tp.path("runs")) {
                s.append(line(p)
                        + (p.has("img_per_s")
                                ? " " + p.path("img_per_s").asText() + " img/s at batch "
                                        + p.path("batch_size").asText()
                                : "")
                        + reason(p)
                        + "\n");
            }
        }
        if (r.path("ok").asBoolean()) {
            s.append("result: OK\n");
        } else {
            s.append("result: FAILED\n");
            r.path("failures").forEach(f -> s.append("  - ").append(f.asText()).append('\n'));
        }
        return s.toString();
    }

    private static String line(JsonNode p) {
        return String.format(
                "  %-7s %-9s %-7s",
                p.path("device").asText(),
                p.path("dtype").asText(),
                p.path("status").asText());
    }

    /** A check's reason; for a skipped one its first sentence (the JSON has it all). */
    private static String reason(JsonNode p) {
        if (!p.has("reason")) {
            return "";
        }
        String reason = p.path("reason").asText();
        return " " + ("skipped".equals(p.path("status").asText()) ? firstSentence(reason) : reason);
    }

    private static String runs(JsonNode capability) {
        return capability.path("runs").asBoolean()
                ? "yes"
                : "no (" + firstSentence(capability.path("reason").asText()) + ")";
    }

    private static String firstSentence(String s) {
        int end = s.indexOf(". ");
        return end < 0 ? s : s.substring(0, end + 1);
    }

    private static String join(JsonNode array) {
        StringBuilder b = new StringBuilder();
        array.forEach(x -> b.append(b.length() == 0 ? "" : ", ").append(x.asText()));
        return b.toString();
    }
}
