package io.cqrs.write.command;

import java.util.List;

/** A request that breaks the command rules; nothing of it was written. */
public final class InvalidCommand extends RuntimeException {

    private final Command.Op op;
    private final List<Violation> violations;

    InvalidCommand(Command.Op op, List<Violation> violations) {
        super(violations.size() + " violation(s), first: "
                + violations.getFirst().field() + " " + violations.getFirst().message());
        this.op = op;
        this.violations = List.copyOf(violations);
    }

    /** What kind of command was refused, for metrics. */
    public String op() {
        return op.label();
    }

    public List<Violation> violations() {
        return violations;
    }
}
