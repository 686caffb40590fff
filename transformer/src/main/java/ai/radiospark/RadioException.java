package ai.radiospark;

/**
 * The one user-facing error type of radio-spark. Its message says what went wrong, why, and how
 * to fix it, naming the offending value (a file, a tensor, a column, a parameter).
 *
 * <pre>{@code
 * throw new RadioException("Cannot load model at " + dir + ": config.json has no `hidden_size`. "
 *     + "Point --model at a RADIO checkpoint directory or hub id.");
 * }</pre>
 */
public class RadioException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RadioException(String message) {
        super(message);
    }

    public RadioException(String message, Throwable cause) {
        super(message, cause);
    }
}
