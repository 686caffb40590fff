package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The forward script's weight positions come from {@link HeadTensor} and {@link BlockTensor} alone: the
 * generated source binds each tensor once, at its enum position, and reads it by name; {@code set_weights}
 * converts exactly the tensors whose role says so. The numerics are the golden tests' ({@code RadioModel*Test}).
 */
class RadioScriptTest {
    static final String SOURCE = RadioScript.source();

    @Test
    void everyPlaceholderIsFilled() {
        assertFalse(SOURCE.contains("$"), SOURCE);
    }

    @Test
    void eachTensorIsBoundAtItsEnumPositionAndRead() {
        for (BlockTensor t : BlockTensor.values()) {
            assertEquals(List.of("o + " + t.ordinal()), bindings(t.scriptName()), t.name());
            assertTrue(reads(t.scriptName()) >= 1, t.scriptName() + " is bound but never read");
        }
        for (HeadTensor t : HeadTensor.values()) {
            assertEquals(List.of(Integer.toString(t.ordinal())), bindings(t.scriptName()), t.name());
            assertTrue(reads(t.scriptName()) >= 1, t.scriptName() + " is bound but never read");
        }
        // No weight is read by position except through those bindings.
        Matcher m = Pattern.compile("w\\[([^\\]]*)\\]").matcher(SOURCE);
        int indexed = 0;
        while (m.find()) {
            indexed++;
        }
        assertEquals(HeadTensor.values().length + BlockTensor.values().length, indexed);
    }

    @Test
    void setWeightsConvertsByRole() {
        // The layout of the script as first written by hand: head of 4, blocks of 14, matrices and biases to
        // the compute type, matrices reordered for oneDNN.
        assertTrue(SOURCE.contains("j = (i - 4) % 14\n"), SOURCE);
        assertTrue(SOURCE.contains("if i >= 4 and j in [2, 3, 4, 5, 8, 9, 10, 11]:\n"), SOURCE);
        assertTrue(SOURCE.contains("if onednn and i >= 4 and j in [2, 4, 8, 10]:\n"), SOURCE);
        assertTrue(SOURCE.contains("t = self.block(t, 4 + 14 * i, heads, eps, swiglu, cdt)\n"), SOURCE);
        assertEquals(4 + 14 * 3L, RadioScript.weightCount(3));
    }

    @Test
    void blockKeysAreTheWeightsCanonicalNames() {
        assertEquals("blocks.7.norm1.weight", BlockTensor.NORM1_W.key(7));
        assertEquals("blocks.0.mlp.out.bias", BlockTensor.MLP_OUT_B.key(0));
        assertEquals(3L * 64, BlockTensor.QKV_B.fillLength(64));
        assertEquals(64L, BlockTensor.LS2.fillLength(64));
    }

    private static List<String> bindings(String name) {
        Matcher m = Pattern.compile("(?m)^\\s+" + name + " = w\\[([^\\]]*)\\]$").matcher(SOURCE);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private static int reads(String name) {
        Matcher m = Pattern.compile("[(, ]" + name + "[,.)\\n]").matcher(SOURCE);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
