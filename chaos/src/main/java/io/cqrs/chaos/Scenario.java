package io.cqrs.chaos;

import java.util.ArrayList;
import java.util.List;

/** One fault of the suite: its name on the report line, and what it does while the load runs. */
record Scenario(String name, Fault fault) {

    @FunctionalInterface
    interface Fault {
        void inject(Findings findings) throws Exception;
    }

    /** What a fault reports beside the checks every scenario gets: figures of its own, and its own failed checks. */
    static final class Findings {
        private final List<String> notes = new ArrayList<>();
        private int failedChecks;

        void note(String name, Object value) {
            notes.add(name + "=" + value);
        }

        void check(boolean passed) {
            if (!passed) {
                failedChecks++;
            }
        }

        /** A check named on the report line when it fails. */
        void check(String what, boolean passed) {
            check(passed);
            if (!passed) {
                notes.add("failed=\"" + what + "\"");
            }
        }

        List<String> notes() {
            return notes;
        }

        int failedChecks() {
            return failedChecks;
        }
    }
}
