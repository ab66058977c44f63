package io.cqrs.chaos;

/** The suite's figures summed over its scenarios; clean when nothing was lost, mismatched, doubled or failed. */
record Totals(
        long acknowledged,
        long uncertain,
        long lost,
        long mismatched,
        long duplicates,
        long partial,
        long readCountMismatched,
        long failedChecks) {

    static final Totals NONE = new Totals(0, 0, 0, 0, 0, 0, 0, 0);

    Totals plus(Outcome outcome) {
        var check = outcome.check();
        return new Totals(
                acknowledged + outcome.acknowledged(),
                uncertain + outcome.uncertain(),
                lost + check.lost(),
                mismatched + check.mismatched(),
                duplicates + check.duplicates(),
                partial + check.partial(),
                readCountMismatched + check.readCountMismatched(),
                failedChecks + outcome.failedChecks());
    }

    boolean clean() {
        return lost == 0
                && mismatched == 0
                && duplicates == 0
                && partial == 0
                && readCountMismatched == 0
                && failedChecks == 0;
    }

    String line(long durationSeconds) {
        return String.format(
                "total acknowledged=%d uncertain=%d lost=%d mismatched=%d duplicates=%d partial=%d"
                        + " read_count_mismatched=%d failed_checks=%d duration_s=%d result=%s",
                acknowledged,
                uncertain,
                lost,
                mismatched,
                duplicates,
                partial,
                readCountMismatched,
                failedChecks,
                durationSeconds,
                clean() ? "PASS" : "FAIL");
    }
}
