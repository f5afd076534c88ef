package dev.peft4j.cli;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.RunInterruptedException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

/**
 * The {@code peft4j} command. Exit codes: 0 success, 1 a user-facing error (one line on stderr, the
 * stack trace only with {@code --debug}), 2 a usage error.
 */
@Command(name = "peft4j", mixinStandardHelpOptions = true, version = "peft4j 0.1.0-SNAPSHOT",
        description = "Parameter-efficient transfer learning for pretrained transformers on the JVM.",
        subcommands = {InspectCommand.class, EncodeCommand.class, GenerateCommand.class, TrainCommand.class, EvalCommand.class,
            PredictCommand.class, SweepCommand.class, MergeCommand.class, BenchCommand.class, CompareCommand.class, PluginsCommand.class, ValidateCommand.class, DoctorCommand.class, CommandLine.HelpCommand.class})
public final class Peft4jCli implements Runnable {
    /** Shared by all subcommands: {@code --debug} anywhere on the line. */
    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: use train, sweep, merge, eval, predict, validate, inspect, encode, generate, bench, compare, plugins or doctor (see --help)");
    }

    /** A configured command line (tests call {@code execute} on it with their own writers). */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Peft4jCli());
        commandLine.setExecutionExceptionHandler(new ErrorHandler());
        return commandLine;
    }

    public static void main(String[] args) {
        if (!"false".equals(System.getProperty("peft4j.stop-signals"))) { // false: the JVM's own handling, to measure issue #16
            StopSignals.install(System.err);
        }
        int code = commandLine().execute(args);
        // a stop request honoured by a command that then ended normally still exits as interrupted
        System.exit(code == 0 && Interruption.requested() ? Interruption.exitCode() : code);
    }

    /** User-facing errors: {@code error: <message>} on one line; the trace only with --debug. */
    static final class ErrorHandler implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception e, CommandLine commandLine, ParseResult parseResult) {
            PrintWriter err = commandLine.getErr();
            if (e instanceof RunInterruptedException interrupted) {
                err.println("interrupted: " + interrupted.getMessage());
                err.flush();
                return interrupted.exitCode();
            }
            boolean debug = parseResult.hasMatchedOption("--debug")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--debug"));
            String message = e instanceof Peft4jException ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
            err.println("error: " + String.valueOf(message).replace('\n', ' '));
            if (debug) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        }
    }
}
