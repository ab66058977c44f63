package io.cqrs.chaos;

import io.cqrs.chaos.Checker.Result;
import java.util.List;

/** What one scenario came to: the load's account, the check of the read model, and the failed checks; one line. */
record Outcome(
        String scenario,
        long acknowledged,
        long uncertain,
        Result check,
        long reads,
        long uncertainReads,
        long retries,
        String health,
        long failedChecks,
        List<String> notes) {

    Outcome {
        notes = List.copyOf(notes);
    }

    String line() {
        return String.format(
                "scenario=%s acknowledged=%d uncertain=%d lost=%d mismatched=%d duplicates=%d partial=%d"
                        + " read_count_mismatched=%d converged_ms=%d reads=%d uncertain_reads=%d retries=%d"
                        + " health=%s failed_checks=%d%s",
                scenario,
                acknowledged,
                uncertain,
                check.lost(),
                check.mismatched(),
                check.duplicates(),
                check.partial(),
                check.readCountMismatched(),
                check.convergedMs(),
                reads,
                uncertainReads,
                retries,
                health,
                failedChecks,
                notes.isEmpty() ? "" : " " + String.join(" ", notes));
    }
}
