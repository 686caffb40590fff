package ai.radiospark.sql;

import ai.radiospark.RadioException;
import org.apache.spark.ml.linalg.Vectors;

/** The row code of radio_cosine, radio_vector and radio_normalize; runs on the executors. */
final class ArrayFunctions {
    private ArrayFunctions() {}

    static Double cosine(scala.collection.Seq<Object> a, scala.collection.Seq<Object> b) {
        if (a == null || b == null) {
            return null;
        }
        if (a.size() != b.size()) {
            throw new RadioException(
                    "radio_cosine: cannot compare arrays of different lengths (" + a.size() + " and " + b.size()
                            + "): embeddings from different models or settings. Compare embeddings of one model only.");
        }
        double[] x = doubles(a);
        double[] y = doubles(b);
        if (x == null || y == null) {
            return null;
        }
        double dot = 0;
        double nx = 0;
        double ny = 0;
        for (int i = 0; i < x.length; i++) { // as ai.radiospark.Cosine, in double
            dot += x[i] * y[i];
            nx += x[i] * x[i];
            ny += y[i] * y[i];
        }
        double c = dot / Math.sqrt(nx * ny);
        return Double.isNaN(c) ? null : c; // an all-zero vector has no direction; NaN would sort first in DESC order
    }

    static org.apache.spark.ml.linalg.Vector vector(scala.collection.Seq<Object> a) {
        if (a == null) {
            return null;
        }
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            Object x = a.apply(i);
            if (x == null) {
                throw new RadioException(
                        "radio_vector: element " + i + " of the array is null; vectors cannot hold nulls.");
            }
            v[i] = ((Number) x).doubleValue();
        }
        return Vectors.dense(v);
    }

    static float[] normalize(scala.collection.Seq<Object> a) {
        if (a == null) {
            return null;
        }
        double[] x = doubles(a);
        return x == null ? null : normalize(x);
    }

    /**
     * {@code x / ||x||} as floats, the norm summed in double; null when the norm is zero (no
     * direction) or not finite.
     */
    static float[] normalize(double[] x) {
        double n = 0;
        for (double v : x) {
            n += v * v;
        }
        n = Math.sqrt(n);
        if (n == 0 || !Double.isFinite(n)) {
            return null;
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] / n);
        }
        return out;
    }

    /** The elements as doubles (exact for float), or null when one is null. */
    private static double[] doubles(scala.collection.Seq<Object> s) {
        double[] v = new double[s.size()];
        for (int i = 0; i < v.length; i++) {
            Object x = s.apply(i);
            if (x == null) {
                return null;
            }
            v[i] = ((Number) x).doubleValue();
        }
        return v;
    }
}
