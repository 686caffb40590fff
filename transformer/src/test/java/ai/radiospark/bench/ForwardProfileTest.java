package ai.radiospark.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The profile's arithmetic on a hand-made Chrome trace: self time is an event's time minus its
 * children's, per call site the fastest pass counts, and the parts group the operators.
 */
class ForwardProfileTest {
    static JsonNode trace(String json) throws Exception {
        return new ObjectMapper().readTree(json);
    }

    static String event(String name, double ts, double dur) {
        return "{\"ph\":\"X\",\"tid\":1,\"name\":\"" + name + "\",\"ts\":" + ts + ",\"dur\":" + dur + "}";
    }

    @Test
    void selfTimesSubtractChildrenAndTakeTheFastestPassPerCallSite() throws Exception {
        // two passes: forward > (linear, attention); the second pass's linear is slower, its attention faster
        JsonNode t = trace("{\"traceEvents\":["
                + String.join(
                        ",",
                        event("forward", 0, 10_000),
                        event("mkldnn::_linear_pointwise", 1_000, 4_000),
                        event("aten::_scaled_dot_product_flash_attention_for_cpu", 5_000, 3_000),
                        event("forward", 20_000, 12_000),
                        event("mkldnn::_linear_pointwise", 21_000, 6_000),
                        event("aten::_scaled_dot_product_flash_attention_for_cpu", 27_000, 2_000))
                + "]}");
        Map<String, double[]> self = ForwardProfile.selfTimes(t, 2);
        assertArrayEquals(new double[] {4.0, 1}, self.get("mkldnn::_linear_pointwise"));
        assertArrayEquals(new double[] {2.0, 1}, self.get("aten::_scaled_dot_product_flash_attention_for_cpu"));
        assertArrayEquals(new double[] {3.0, 1}, self.get("forward"), "10 - 4 - 3 and 12 - 6 - 2: 3 and 4");
        assertThrows(IllegalStateException.class, () -> ForwardProfile.selfTimes(t, 4));

        ObjectNode parts = ForwardProfile.parts(self, 8e9, 1e9);
        assertEquals(9.0, parts.path("ms").asDouble());
        assertEquals(4.0, parts.at("/linears/ms").asDouble());
        assertEquals(0.444, parts.at("/linears/share").asDouble());
        assertEquals(2000.0, parts.at("/linears/gflops").asDouble(), "8 GFLOP in 4 ms");
        assertEquals(500.0, parts.at("/attention/gflops").asDouble());
        assertEquals(3.0, parts.at("/other/ms").asDouble());
        assertEquals(0.0, parts.at("/layer_norm/share").asDouble());
    }
}
