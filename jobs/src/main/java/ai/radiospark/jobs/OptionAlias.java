package ai.radiospark.jobs;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Old option names kept as hidden, deprecated aliases, so that every command speaks one vocabulary
 * ({@code --output}, {@code --batch-size}, {@code --resize-mode}) without breaking scripts written for
 * the old names: {@code radio init --out}, {@code radio bench --batch} and {@code radio preprocess --mode}.
 * An alias is a hidden option of its own: it is left out of {@code --help}, and the command takes its value
 * through {@link #value} once the options are parsed.
 */
final class OptionAlias {
    /** The option that replaced each old name. */
    private static final Map<String, String> REPLACED_BY =
            Map.of("--out", "--output", "--batch", "--batch-size", "--mode", "--resize-mode");

    private OptionAlias() {}

    /**
     * The value of {@code option}, or of its old name {@code alias} when that was given instead.
     *
     * @throws OptionException when both names were given
     */
    static <T> T value(CommandSpec spec, String alias, T aliasValue, T optionValue) {
        if (aliasValue == null) {
            return optionValue;
        }
        String option = REPLACED_BY.get(alias);
        if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
            throw new OptionException(
                    alias,
                    String.valueOf(aliasValue),
                    alias + " is the old name of " + option + ": give only " + option + ".");
        }
        return aliasValue;
    }

    /**
     * One line on stderr per old name used, e.g. {@code radio bench: --batch is deprecated; use --batch-size.};
     * called once the options are checked, so that an invalid option is still reported in one line alone.
     */
    static void warnIfUsed(CommandSpec spec) {
        PrintWriter err = spec.commandLine().getErr();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String option = REPLACED_BY.get(o.longestName());
            if (o.hidden() && option != null) {
                err.println(spec.qualifiedName() + ": " + o.longestName() + " is deprecated; use " + option + ".");
            }
        }
        err.flush();
    }
}
