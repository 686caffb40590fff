package ai.radiospark;

/**
 * A setting with a value radio-spark cannot use, found before any work starts: which setting, the
 * value, and a hint saying what would work. Front ends that name the setting differently (the
 * command line's {@code --size} for the stage's {@code imageSize}) rephrase it from
 * {@link #param()}, {@link #value()} and {@link #hint()}.
 *
 * <pre>{@code
 * throw new InvalidValueException("featuresMode", "pooled:0x3", "Use none, full, or pooled:RxC with R and C positive.");
 * // message: Invalid featuresMode "pooled:0x3". Use none, full, or pooled:RxC with R and C positive.
 * }</pre>
 */
public class InvalidValueException extends RadioException {
    private static final long serialVersionUID = 1L;

    private final String param;
    private final String value;
    private final String hint;

    public InvalidValueException(String param, String value, String hint) {
        super("Invalid " + param + " \"" + value + "\". " + hint);
        this.param = param;
        this.value = value;
        this.hint = hint;
    }

    /** The setting's name where it was checked (a stage parameter such as {@code imageSize}). */
    public String param() {
        return param;
    }

    public String value() {
        return value;
    }

    /** Why the value cannot be used and what would work, one or two sentences. */
    public String hint() {
        return hint;
    }
}
