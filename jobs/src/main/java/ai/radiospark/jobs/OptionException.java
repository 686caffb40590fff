package ai.radiospark.jobs;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import ai.radiospark.runtime.EmbeddingSettings.Setting;

/**
 * A command-line option with a value the command cannot use, found before Spark starts: exit code
 * 2, one line naming the option ({@link RadioCli}).
 *
 * <pre>{@code
 * OptionException.check("--features", () -> RadioEmbedder.checkValue("featuresMode", features));
 * // radio extract: Invalid value for option '--features' (pooled:0x3): Use none, full, or pooled:RxC ...
 * }</pre>
 */
final class OptionException extends RadioException {
    private static final long serialVersionUID = 1L;

    private final String option;

    OptionException(String option, String value, String reason) {
        super("Invalid value for option '" + option + "' (" + value + "): " + reason);
        this.option = option;
    }

    String option() {
        return option;
    }

    /** Runs a check of an option's value; its {@link RadioException} becomes one naming the option. */
    static void check(String option, String value, Runnable check) {
        try {
            check.run();
        } catch (OptionException e) {
            throw e;
        } catch (InvalidValueException e) {
            throw new OptionException(option, value, e.hint());
        } catch (RadioException e) {
            throw new OptionException(option, value, e.getMessage());
        }
    }

    /** Runs a check of the stage's settings; its {@link InvalidValueException} names the option of the parameter. */
    static void stage(Runnable check) {
        try {
            check.run();
        } catch (InvalidValueException e) {
            throw new OptionException(Setting.byParam(e.param()).option(), e.value(), e.hint());
        }
    }

    /** Fails unless {@code ok}: {@code reason} says what would work. */
    static void require(boolean ok, String option, Object value, String reason) {
        if (!ok) {
            throw new OptionException(option, String.valueOf(value), reason);
        }
    }
}
