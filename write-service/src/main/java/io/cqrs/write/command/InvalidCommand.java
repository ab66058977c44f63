package io.cqrs.write.command;

import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** A request that breaks the command rules; nothing of it was written. A 400 that lists every violation. */
final class InvalidCommand extends ErrorResponseException {

    private final List<Violation> violations;

    InvalidCommand(List<Violation> violations) {
        super(HttpStatus.BAD_REQUEST, problem(violations), null);
        this.violations = List.copyOf(violations);
    }

    List<Violation> violations() {
        return violations;
    }

    private static ProblemDetail problem(List<Violation> violations) {
        var first = violations.getFirst();
        var problem = ApiErrors.problem(
                HttpStatus.BAD_REQUEST,
                "invalid-command",
                "Invalid command: " + first.field() + " " + first.message()
                        + (violations.size() > 1 ? " (and " + (violations.size() - 1) + " more)" : "")
                        + "; nothing was written");
        problem.setProperty("violations", List.copyOf(violations));
        return problem;
    }
}
