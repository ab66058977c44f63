package io.cqrs.write.command;

import java.util.List;

/** A request that breaks the command rules; nothing of it was written. */
final class InvalidCommand extends RuntimeException {

    private final List<Violation> violations;

    InvalidCommand(List<Violation> violations) {
        super(violations.size() + " violation(s), first: "
                + violations.getFirst().field() + " " + violations.getFirst().message());
        this.violations = List.copyOf(violations);
    }

    List<Violation> violations() {
        return violations;
    }
}
