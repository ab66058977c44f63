package io.cqrs.events;

/** The checks both event records share, so that the two constructors cannot drift apart. */
final class EventChecks {

    private EventChecks() {}

    static void requireCommandId(long commandId) {
        if (commandId < 1) {
            throw new IllegalArgumentException("command_id must be positive, was " + commandId);
        }
    }

    static void requireKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("key must not be empty");
        }
    }

    static void requireVersion(long version) {
        if (version < 1) {
            throw new IllegalArgumentException("version must be positive, was " + version);
        }
    }
}
